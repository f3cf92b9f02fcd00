//! The `env-literal-secret` fix: the literal value goes into a new Secret, and the entry
//! is moved to a read-only volume like an `env-secret` one.

use super::Detail;
use crate::fix::workload::FixError;
use crate::fix::workload::{At, Edits, Field, WorkloadFix, bad_path};

/// The fix (the check's [`super::super::Fixer::Workload`]).
#[derive(Debug)]
pub(crate) struct Fix;

impl WorkloadFix for Fix {
    fn image_only(&self) -> bool {
        false
    }

    fn moves_literals(&self) -> bool {
        true
    }

    fn gather(&self, edits: &mut Edits, at: &At<'_>, field: Field) -> Result<bool, FixError> {
        match (&at.f.detail, field) {
            (crate::checks::Detail::EnvLiteralSecret(Detail::LiteralSecret { env, .. }), Field::Env(i)) => {
                edits.add_literal(at, env, i)?;
                Ok(true)
            }
            _ => Err(bad_path(at.object, at.f)),
        }
    }
}
