//! The `secfix.dev/ignore` annotation ([`IGNORE_ANNOTATION`]) on an object or its namespace.
//!
//! Value: `all`, or check ids separated by commas (whitespace around them is ignored, and
//! whitespace alone also separates). Matching is case-insensitive. Unknown ids are ignored, so
//! an annotation written for a newer version with more checks still works; they are kept in
//! [`Ignore::unknown`] for a caller that wants to warn.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::IGNORE_ANNOTATION;

use crate::checks::CheckId;

/// Which checks an annotation suppresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    pub all: bool,
    pub checks: BTreeSet<CheckId>,
    /// Ids in the annotation that name no check.
    pub unknown: Vec<String>,
}

impl Ignore {
    /// Parses an annotation value.
    pub fn parse(value: &str) -> Ignore {
        let mut out = Ignore::default();
        for item in value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let item = item.to_ascii_lowercase();
            if item == "all" {
                out.all = true;
            } else if let Some(c) = CheckId::parse(&item) {
                out.checks.insert(c);
            } else {
                out.unknown.push(item);
            }
        }
        out
    }

    /// Reads the annotation from an object's annotations (none: suppresses nothing).
    pub(crate) fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Ignore {
        annotations
            .and_then(|a| a.get(IGNORE_ANNOTATION))
            .map(|v| Ignore::parse(v))
            .unwrap_or_default()
    }

    /// True when findings of `check` are suppressed.
    pub fn covers(&self, check: CheckId) -> bool {
        self.all || self.checks.contains(&check)
    }

    /// True when nothing is suppressed.
    pub fn is_empty(&self) -> bool {
        !self.all && self.checks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_all_and_unknown_ids() {
        let i = Ignore::parse(" env-secret ,Mutable-Image-Tag,, bogus ");
        assert!(i.covers(CheckId::EnvSecret));
        assert!(i.covers(CheckId::MutableImageTag));
        assert!(!i.covers(CheckId::EnvLiteralSecret));
        assert_eq!(i.unknown, vec!["bogus".to_string()]);
        let all = Ignore::parse(" ALL ");
        assert!(CheckId::ALL.into_iter().all(|c| all.covers(c)));
        assert!(Ignore::parse("").is_empty());
        assert!(Ignore::parse("nope").is_empty());
        assert!(
            Ignore::parse("env-secret default-allow-namespace")
                .covers(CheckId::DefaultAllowNamespace)
        );
    }

    #[test]
    fn reads_the_annotation() {
        let mut a = BTreeMap::new();
        assert!(Ignore::from_annotations(None).is_empty());
        assert!(Ignore::from_annotations(Some(&a)).is_empty());
        a.insert(IGNORE_ANNOTATION.to_string(), "all".to_string());
        assert!(Ignore::from_annotations(Some(&a)).all);
    }
}
