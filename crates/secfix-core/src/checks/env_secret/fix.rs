//! The `env-secret` fix: each Secret-backed env entry becomes a key of a read-only volume
//! (the moves themselves are `fix::secret_volume`'s, shared with `env-literal-secret`).

use super::Detail;
use crate::fix::secret_volume::Move;
use crate::fix::workload::{At, Edits, Field, WorkloadFix};
use crate::fix::workload::FixError;

/// The fix (the check's [`super::super::Fixer::Workload`]).
#[derive(Debug)]
pub(crate) struct Fix;

impl WorkloadFix for Fix {
    fn image_only(&self) -> bool {
        false
    }

    fn moves_literals(&self) -> bool {
        false
    }

    fn gather(&self, edits: &mut Edits, at: &At<'_>, field: Field) -> Result<bool, FixError> {
        let crate::checks::Detail::EnvSecret(detail) = &at.f.detail else {
            return Err(crate::fix::workload::bad_path(at.object, at.f));
        };
        let container = edits.container(at)?;
        let step = match (detail, field) {
            (
                Detail::SecretKeyRef {
                    env,
                    secret,
                    key,
                    optional,
                    ..
                },
                Field::Env(i),
            ) => {
                let entry = container.env.as_ref().and_then(|e| e.get(i));
                let r = entry
                    .filter(|e| &e.name == env)
                    .and_then(|e| e.value_from.as_ref())
                    .and_then(|v| v.secret_key_ref.as_ref());
                if !r.is_some_and(|r| &r.name == secret && &r.key == key) {
                    return Err(at.stale(format!("env {env} from key {key} of Secret {secret}")));
                }
                Move::Key {
                    group: at.group,
                    container: at.index,
                    index: i,
                    env: env.clone(),
                    secret: secret.clone(),
                    key: key.clone(),
                    optional: *optional,
                }
            }
            (
                Detail::SecretRef {
                    secret,
                    prefix,
                    optional,
                    ..
                },
                Field::EnvFrom(i),
            ) => {
                let r = container
                    .env_from
                    .as_ref()
                    .and_then(|e| e.get(i))
                    .and_then(|e| e.secret_ref.as_ref());
                if r.is_none_or(|r| &r.name != secret) {
                    return Err(at.stale(format!("envFrom of Secret {secret}")));
                }
                Move::Whole {
                    group: at.group,
                    container: at.index,
                    index: i,
                    secret: secret.clone(),
                    prefix: prefix.clone(),
                    optional: *optional,
                }
            }
            (Detail::SecretKeyRef { .. } | Detail::SecretRef { .. }, _) => {
                return Err(crate::fix::workload::bad_path(at.object, at.f));
            }
        };
        edits.moves.push(step);
        Ok(true)
    }
}
