//! Names this tool gives to the objects, volumes, keys and files it creates.

/// How the namespace of manifests that name none is shown (`-f` or `-k` without `-n`):
/// `kubectl apply -n X`, a kustomization's `namespace:` or Helm's release namespace places
/// them, so no namespace is made up. Inside, that namespace is the empty string.
pub const APPLY_NAMESPACE: &str = "(namespace of the apply)";

/// `ns`, or [`APPLY_NAMESPACE`] for the unnamed namespace (the empty string).
pub fn namespace_label(ns: &str) -> &str {
    if ns.is_empty() { APPLY_NAMESPACE } else { ns }
}

/// The longest object name: a DNS subdomain (Secrets, NetworkPolicies).
pub const MAX_NAME: usize = 253;

/// The longest DNS label (volume names, label values).
pub const MAX_LABEL: usize = 63;

/// Below this much room a cut stem keeps its plain start, with no hash.
const HASHED_ROOM: usize = 24;

/// `{stem}{tail}`, else the first of `{stem}{tail}{sep}2`, `{stem}{tail}{sep}3`, … that
/// `taken` refuses, each at most `max` characters: only the stem is shortened (never `tail`
/// or the counter), and a shortened stem loses trailing `-` and `.` so the result stays a
/// valid DNS name. Where there is room, a shortened stem ends in `-` and a hash of the whole
/// stem, so distinct long stems stay distinct (and the same one gives the same name on every
/// run and platform). Every name this tool generates goes through here: Secrets for moved
/// literals and their keys, volumes, mount folders and NetworkPolicies.
pub fn unique(
    stem: &str,
    tail: &str,
    sep: &str,
    max: usize,
    taken: impl Fn(&str) -> bool,
) -> String {
    let fit = |counter: &str| {
        let room = max.saturating_sub(tail.len() + counter.len());
        if stem.chars().count() <= room {
            return format!("{stem}{tail}{counter}");
        }
        if room >= HASHED_ROOM {
            let cut: String = stem.chars().take(room - 17).collect();
            let cut = cut.trim_end_matches(['-', '.']);
            return format!("{cut}-{:016x}{tail}{counter}", fnv1a(stem));
        }
        let cut: String = stem.chars().take(room).collect();
        format!("{}{tail}{counter}", cut.trim_end_matches(['-', '.']))
    };
    let first = fit("");
    if !taken(&first) {
        return first;
    }
    (2u64..)
        .map(|i| fit(&format!("{sep}{i}")))
        .find(|n| !taken(n))
        .unwrap_or(first)
}

/// FNV-1a: a hash stable across runs and platforms.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What follows DIR in the name of a `-k DIR` source.
pub const KUSTOMIZE_SUFFIX: &str = " (kustomization)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_free_name_with_counter() {
        let taken = ["a", "a-2"];
        assert_eq!(unique("b", "", "-", 63, |n| taken.contains(&n)), "b");
        assert_eq!(unique("a", "", "-", 63, |n| taken.contains(&n)), "a-3");
        assert_eq!(unique("KEY", "", "_", 63, |n| n == "KEY"), "KEY_2");
        assert_eq!(unique("web", "-x", "-", 63, |n| n == "web-x"), "web-x-2");
    }

    #[test]
    fn long_bases_are_cut_before_the_counter_and_lose_trailing_dashes() {
        assert_eq!(unique("abc-def", "", "-", 5, |_| false), "abc-d");
        assert_eq!(unique("ab-cdef", "", "-", 5, |n| n == "ab-cd"), "ab-2");
        assert_eq!(unique("ab-cdef", "-s", "-", 6, |_| false), "ab-c-s");
        assert_eq!(unique("short", "", "-", 63, |_| false), "short");
    }

    #[test]
    fn long_stems_end_in_a_hash_of_the_whole_and_stay_distinct() {
        let a = unique(
            &format!("secfix-egress-{}", "a".repeat(250)),
            "",
            "-",
            MAX_NAME,
            |_| false,
        );
        let b = unique(
            &format!("secfix-egress-{}b", "a".repeat(249)),
            "",
            "-",
            MAX_NAME,
            |_| false,
        );
        assert_eq!(a.len(), MAX_NAME);
        assert_ne!(a, b);
        let again = unique(
            &format!("secfix-egress-{}", "a".repeat(250)),
            "",
            "-",
            MAX_NAME,
            |_| false,
        );
        assert_eq!(a, again);
        let second = unique(
            &format!("secfix-egress-{}", "a".repeat(250)),
            "",
            "-",
            MAX_NAME,
            |n| n == a,
        );
        assert!(
            second.len() <= MAX_NAME && second.ends_with("-2"),
            "{second}"
        );
    }
}
