//! The `default-allow-namespace` fix: what each finding asks the namespace's policies to
//! isolate (the policies themselves are built by `fix::network_policy`).

use super::Detail;
use crate::checks::{Direction, Finding};
use crate::fix::network_policy::NamespaceFix;

/// The fix (the check's [`crate::checks::Fixer::Namespace`]).
#[derive(Debug)]
pub(super) struct Fix;

impl NamespaceFix for Fix {
    fn unisolated<'f>(&self, f: &'f Finding) -> Option<(Direction, &'f [String])> {
        match &f.detail {
            crate::checks::Detail::DefaultAllowNamespace(Detail::Unisolated {
                direction,
                workloads,
            }) => Some((*direction, workloads)),
            _ => None,
        }
    }
}
