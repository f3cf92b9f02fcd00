//! Container image references, parsed by the distribution reference grammar
//! (`[registry[:port]/]path[:tag][@digest]`), with Docker Hub normalisation.

/// A parsed image reference. `registry` and `repository` are normalised
/// (`nginx` → `docker.io` + `library/nginx`); `original` keeps the spelling from the spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    pub original: String,
    /// `docker.io`, `localhost:5000`, `ghcr.io`, …
    pub registry: String,
    /// `library/nginx`, `org/app`, …
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>` (or another algorithm) when pinned.
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct ImageRefError {
    pub reference: String,
    pub reason: &'static str,
}

impl ImageRef {
    pub fn parse(reference: &str) -> Result<Self, ImageRefError> {
        let err = |reason| ImageRefError {
            reference: reference.to_string(),
            reason,
        };
        // The API server refuses an image with leading or trailing whitespace, and a runtime
        // would not pull it: such a reference is invalid here too (never pinned as written).
        if reference.trim() != reference {
            return Err(err("leading or trailing whitespace"));
        }
        let s = reference;
        if s.is_empty() {
            return Err(err("empty reference"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                check_digest(d).map_err(err)?;
                (r, Some(d.to_string()))
            }
            None => (s, None),
        };
        // The tag is after the last ':' that comes after the last '/'.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let i = last_slash + i;
                (&rest[..i], Some(rest[i + 1..].to_string()))
            }
            None => (rest, None),
        };
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                && !t.starts_with(['.', '-']);
            if !ok {
                return Err(err("malformed tag"));
            }
        }
        if name.is_empty() {
            return Err(err("empty repository name"));
        }
        // The first component is a registry host when it has a '.' or ':' or is 'localhost'.
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), path.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let registry = if registry == "index.docker.io" || registry == "registry-1.docker.io" {
            "docker.io".to_string()
        } else {
            registry
        };
        let repository = if registry == "docker.io" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if !valid_host(&registry) {
            return Err(err("malformed registry host"));
        }
        // Path components start and end with [a-z0-9], with `.`, `_` or `-` between (so no
        // `.` or `..` component ever reaches a registry URL).
        let valid_path = repository.split('/').all(|c| {
            let alnum = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit();
            c.starts_with(alnum)
                && c.ends_with(alnum)
                && c.chars()
                    .all(|ch| alnum(ch) || matches!(ch, '.' | '_' | '-'))
        });
        if !valid_path {
            return Err(err("repository must be lowercase path components"));
        }
        Ok(ImageRef {
            original: reference.to_string(),
            registry,
            repository,
            tag,
            digest,
        })
    }

    pub fn is_pinned(&self) -> bool {
        self.digest.is_some()
    }

    /// The tag a runtime pulls: the given one, else `latest`.
    pub fn effective_tag(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// `registry/repository`, fully normalised (`docker.io/library/nginx`).
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The reference as written, pinned to `digest` (the tag is kept:
    /// `nginx:1.25` → `nginx:1.25@sha256:…`).
    pub fn pinned(&self, digest: &str) -> String {
        // `original` parsed, so it has no surrounding blanks and at most one '@'.
        let base = self.original.split('@').next().unwrap_or(&self.original);
        format!("{base}@{digest}")
    }
}

/// `host[:port]` of the distribution grammar: dot-separated labels of ASCII letters, digits
/// and inner `-`, or a bracketed IPv6 literal; the port is decimal.
fn valid_host(registry: &str) -> bool {
    let (host, port) = match registry.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) => {
                if v6.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                match after {
                    "" => return true,
                    p => ("", p.strip_prefix(':').unwrap_or("x")),
                }
            }
            None => return false,
        },
        None => match registry.split_once(':') {
            Some((h, p)) => (h, p),
            None => (registry, ""),
        },
    };
    let port_ok = port.is_empty() && !registry.ends_with(':')
        || (!port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = registry.starts_with('[')
        || (!host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            }));
    port_ok && host_ok
}

/// Checks a digest (`algorithm:encoded`) the way a container runtime does before pulling
/// (OCI image spec, "Digests"; go-digest as containerd uses it): `sha256`, `sha384` or
/// `sha512` with exactly 64, 96 or 128 **lowercase** hex digits. Anything else (`md5:…`, uppercase hex, a second `@`)
/// cannot be pulled, so it is not a pin.
fn check_digest(d: &str) -> Result<(), &'static str> {
    let (algo, hex) = d.split_once(':').ok_or("digest lacks an algorithm")?;
    let want = match algo {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm (sha256, sha384 or sha512 expected)"),
    };
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("malformed digest (lowercase hex expected)");
    }
    if hex.len() != want {
        return Err(match want {
            64 => "sha256 digest must have 64 hex digits",
            96 => "sha384 digest must have 96 hex digits",
            _ => "sha512 digest must have 128 hex digits",
        });
    }
    Ok(())
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.original)
    }
}

/// `sha256:` followed by 64 lowercase hex digits: the only digest form this tool pins or
/// accepts from a registry.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_format() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(is_sha256_digest(&format!("sha256:{hex}")));
        assert!(!is_sha256_digest(&format!("sha256:{}", hex.to_uppercase())));
        assert!(!is_sha256_digest(&format!("sha512:{hex}")));
        assert!(!is_sha256_digest("sha256:abc"));
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn docker_hub_normalisation() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(r.full_name(), "docker.io/library/nginx");
        assert_eq!(r.tag, None);
        assert_eq!(r.effective_tag(), "latest");
        let r = ImageRef::parse("bitnami/redis:7").unwrap();
        assert_eq!(r.full_name(), "docker.io/bitnami/redis");
        assert_eq!(r.tag.as_deref(), Some("7"));
        let r = ImageRef::parse("index.docker.io/library/nginx:1").unwrap();
        assert_eq!(r.full_name(), "docker.io/library/nginx");
    }

    #[test]
    fn registry_hosts() {
        for ok in [
            "[::1]:5000/app",
            "[::1]/app",
            "reg-1.example.com:443/a/b",
            "localhost/x",
        ] {
            assert!(ImageRef::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = ImageRef::parse("localhost:5000/app").unwrap();
        assert_eq!(r.registry, "localhost:5000");
        assert_eq!(r.repository, "app");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("127.0.0.1:5000/team/app:v2").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v2"));
    }

    #[test]
    fn digests() {
        let r = ImageRef::parse(&format!("repo:tag@{D}")).unwrap();
        assert!(r.is_pinned());
        assert_eq!(r.tag.as_deref(), Some("tag"));
        assert!(
            ImageRef::parse(&format!("ghcr.io/a/b@{D}"))
                .unwrap()
                .is_pinned()
        );
        assert!(ImageRef::parse("repo@sha256:abc").is_err());
        assert_eq!(
            ImageRef::parse("nginx:1.25").unwrap().pinned(D),
            format!("nginx:1.25@{D}")
        );
    }

    /// covers issue #15 (item 12): a digest a runtime cannot pull is not a pin.
    #[test]
    fn unpullable_digests_do_not_count_as_pinned() {
        let hex = "0123456789abcdef".repeat(4);
        for bad in [
            "x@md5:abc".to_string(),
            format!("x@md5:{hex}"),
            format!("a@b@sha256:{hex}"),
            format!("nginx@sha256:{}", hex.to_uppercase()),
            format!("nginx:1.25@sha256:{}", &hex[..63]),
            format!("nginx@sha512:{hex}"),
            format!("nginx@sha256:{hex}@sha256:{hex}"),
            format!("nginx@:{hex}"),
            "nginx@sha256".to_string(),
        ] {
            assert!(ImageRef::parse(&bad).is_err(), "{bad}");
        }
        assert!(
            ImageRef::parse(&format!("nginx@sha512:{hex}{hex}"))
                .unwrap()
                .is_pinned()
        );
    }

    /// covers issue #15 (item 12): `"nginx:1.25 "` is never pinned as `nginx:1.25 @sha256:…`.
    #[test]
    fn references_with_surrounding_whitespace_are_invalid() {
        for bad in [
            "nginx:1.25 ",
            " nginx:1.25",
            "nginx:1.25\t",
            "nginx:1.25\n",
            "\u{a0}nginx",
        ] {
            let e = ImageRef::parse(bad).unwrap_err();
            assert_eq!(e.reason, "leading or trailing whitespace", "{bad:?}");
        }
        assert!(ImageRef::parse("nginx:1.25 @sha256:0").is_err());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "UPPER/case",
            "repo:",
            "repo:-bad",
            "a//b",
            "localhost:5000/../v2/x",
            "localhost:5000/./x",
            "reg.io:/x",
            "reg.io:5x/x",
            "re#g.io/x",
            "re_g.io/x",
            "-reg.io/x",
            "[::1/x",
            "[zz]:5000/x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
