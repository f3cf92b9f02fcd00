//! Which registries may be reached over plain HTTP.
//!
//! Plain HTTP is allowed for loopback registries (`localhost`, `127.0.0.0/8`, `::1`) and for
//! hosts named with `--insecure-registry`; every other registry is reached over HTTPS only.
//! The decision is made on the registry's *name* as written in the image reference, never on
//! what a name resolves to: a DNS answer must not be able to downgrade a connection.

use std::net::IpAddr;

/// Splits `host[:port]` (`[v6]:port` for IPv6 literals) into a lowercase host and the port.
fn split_host_port(registry: &str) -> (String, Option<&str>) {
    let registry = registry.trim();
    if let Some((host, after)) = registry
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
    {
        let port = after.strip_prefix(':').filter(|p| !p.is_empty());
        return (host.to_ascii_lowercase(), port);
    }
    match registry.split_once(':') {
        // A bare IPv6 literal has several ':' and no port.
        Some((host, port)) if !port.contains(':') => (host.to_ascii_lowercase(), Some(port)),
        Some(_) => (registry.to_ascii_lowercase(), None),
        None => (registry.to_ascii_lowercase(), None),
    }
}

/// Whether `registry` (`host[:port]`) is a loopback registry: `localhost`, an address in
/// `127.0.0.0/8`, or `::1`.
pub fn is_loopback_registry(registry: &str) -> bool {
    let (host, _) = split_host_port(registry);
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Normalises an `--insecure-registry` entry: surrounding blanks, a `http://`/`https://`
/// scheme and a trailing path are dropped, the rest is lowercased.
fn normalise_entry(entry: &str) -> String {
    let e = entry.trim().to_ascii_lowercase();
    let e = e
        .strip_prefix("http://")
        .or_else(|| e.strip_prefix("https://"))
        .unwrap_or(&e);
    e.split('/').next().unwrap_or(e).to_string()
}

/// Whether plain HTTP may be used for `registry` (`host[:port]` as in the image reference).
///
/// True for loopback registries and for registries named in `insecure`. An entry with a port
/// matches that exact `host:port`; an entry without a port matches the host on any port
/// (`--insecure-registry reg.lan` allows `reg.lan:5000`).
pub fn plain_http_allowed(registry: &str, insecure: &[String]) -> bool {
    if is_loopback_registry(registry) {
        return true;
    }
    let wanted = registry.trim().to_ascii_lowercase();
    let (host, _) = split_host_port(registry);
    insecure.iter().map(|e| normalise_entry(e)).any(|entry| {
        !entry.is_empty()
            && (entry == wanted || (split_host_port(&entry).1.is_none() && entry == host))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn loopback_registries_are_allowed() {
        for r in [
            "localhost",
            "localhost:5000",
            "LOCALHOST:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(plain_http_allowed(r, &[]), "{r}");
        }
    }

    #[test]
    fn other_registries_need_https() {
        for r in [
            "docker.io",
            "ghcr.io",
            "10.0.0.1:5000",
            "192.168.1.10",
            "128.0.0.1:5000",
            "localhost.example.com:5000",
            "mylocalhost:5000",
            "[::2]:5000",
        ] {
            assert!(!plain_http_allowed(r, &[]), "{r}");
        }
    }

    #[test]
    fn named_registries_are_allowed() {
        let insecure = s(&["reg.lan:5000", "other.lan", " HTTP://Mixed.Lan:8080/ "]);
        assert!(plain_http_allowed("reg.lan:5000", &insecure));
        assert!(
            !plain_http_allowed("reg.lan:5001", &insecure),
            "port must match"
        );
        assert!(
            !plain_http_allowed("reg.lan", &insecure),
            "port given, bare host differs"
        );
        assert!(plain_http_allowed("other.lan", &insecure));
        assert!(
            plain_http_allowed("other.lan:5000", &insecure),
            "no port: any port"
        );
        assert!(plain_http_allowed("mixed.lan:8080", &insecure));
        assert!(!plain_http_allowed("sub.other.lan", &insecure));
        assert!(!plain_http_allowed("ghcr.io", &insecure));
        assert!(!plain_http_allowed("ghcr.io", &s(&["", "  "])));
    }
}
