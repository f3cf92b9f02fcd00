//! The live side: connecting with kubectl's flags, paged listing, dry run and apply,
//! and the journal of applied patches that `rollback` reads.

pub mod apply;
pub mod client;
pub mod discovery;
pub mod fleet;
pub mod journal;
pub mod list;
pub mod policy_report;
pub mod resources;

/// A short, user-facing description of a kube error: the server's message for API errors
/// (`forbidden: …`, `conflict: …`), the transport error otherwise.
pub fn describe_error(e: &kube::Error) -> String {
    use secfix_core::fix::server_message::{Cause, ServerError, describe};
    match e {
        // Reduced to the reason, the object and the field paths: the server may print the
        // object it was sent, values included (issue #22).
        kube::Error::Api(status) => {
            let details = status.details.as_ref();
            describe(&ServerError {
                code: status.code,
                reason: &status.reason,
                message: &status.message,
                kind: details.map_or("", |d| d.kind.as_str()),
                name: details.map_or("", |d| d.name.as_str()),
                causes: details
                    .map(|d| {
                        d.causes
                            .iter()
                            .map(|c| Cause {
                                reason: &c.reason,
                                field: &c.field,
                                message: &c.message,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        }
        // A response that did not read as expected: serde quotes the value it met, and a
        // patched object holds the pod's env values.
        kube::Error::SerdeError(e) => format!(
            "Error deserializing response: {}",
            secfix_core::model::workload::without_values(e)
        ),
        other => secfix_core::model::text::scrub_userinfo(&other.to_string()).into_owned(),
    }
}

/// The HTTP status code of an API error, if it is one.
pub(crate) fn status_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response that does not read as an object is described without the value serde met.
    #[test]
    fn unreadable_responses_are_described_without_their_values() {
        let e = serde_json::from_str::<std::collections::BTreeMap<String, String>>(
            r#""sfxCANARY-hunter2""#,
        )
        .unwrap_err();
        let text = describe_error(&kube::Error::SerdeError(e));
        assert!(
            text.starts_with("Error deserializing response: invalid type: string"),
            "{text}"
        );
        assert!(!text.contains("sfxCANARY"), "{text}");
    }
}
