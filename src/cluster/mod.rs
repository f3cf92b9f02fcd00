//! The live side: connecting with kubectl's flags, paged listing, dry run and apply,
//! and the journal of applied patches that `rollback` reads.

pub mod apply;
pub mod client;
pub mod discovery;
pub(crate) mod journal;
pub mod list;
pub mod policy_report;
pub mod resources;

/// A short, user-facing description of a kube error: the server's message for API errors
/// (`forbidden: …`, `conflict: …`), the transport error otherwise.
pub(crate) fn describe_error(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() {
                format!("HTTP {}", status.code)
            } else {
                status.reason.clone()
            };
            if status.message.is_empty() {
                reason
            } else {
                format!("{reason}: {}", status.message)
            }
        }
        other => other.to_string(),
    }
}

/// The HTTP status code of an API error, if it is one.
pub(crate) fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}
