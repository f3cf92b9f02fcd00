//! Live tests of `registry::Resolver` against the test bed's real registries (Debian's
//! `docker-registry`, distribution 2.8; see `tests/support`): an anonymous one and one with
//! htpasswd basic auth. Images are pushed with the `tests/support` helpers.
//!
//! Each test is `#[ignore]`d in a plain `cargo test` and run by `tests/run.sh` (see
//! [`live!`]). Only loopback addresses are ever
//! contacted. Every test pushes its own images under unique repository names, so the tests run
//! in parallel and can be repeated against the same registries.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kubectl_secfix::model::ImageRef;
use kubectl_secfix::registry::{RegistryOptions, ResolveError, Resolver, resolve_key};
use support::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Format, OCI_INDEX, OCI_MANIFEST};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A repository name unique to this test run.
fn unique_repo(test: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "secfix-live/{test}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn img(s: &str) -> ImageRef {
    ImageRef::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn opts(timeout: Duration) -> RegistryOptions {
    RegistryOptions {
        insecure: Vec::new(),
        timeout,
        max_concurrent: 8,
        docker_config: Some(no_docker_config()),
    }
}

/// A Docker config directory that does not exist (anonymous access): the developer's own
/// `~/.docker` plays no part in these tests.
fn no_docker_config() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "secfix-live-no-docker-config-{}",
        std::process::id()
    ))
}

fn resolve(
    opts: RegistryOptions,
    refs: &[ImageRef],
) -> BTreeMap<String, Result<String, ResolveError>> {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(Resolver::new(opts).resolve_all(refs))
}

fn ok<'a>(res: &'a BTreeMap<String, Result<String, ResolveError>>, key: &str) -> &'a str {
    match res.get(key) {
        Some(Ok(d)) => d,
        Some(Err(e)) => panic!("{key}: {e}"),
        None => panic!("{key} missing from {:?}", res.keys().collect::<Vec<_>>()),
    }
}

fn err<'a>(res: &'a BTreeMap<String, Result<String, ResolveError>>, key: &str) -> &'a ResolveError {
    match res.get(key) {
        Some(Err(e)) => e,
        Some(Ok(d)) => panic!("{key}: expected an error, got {d}"),
        None => panic!("{key} missing from {:?}", res.keys().collect::<Vec<_>>()),
    }
}

// ---------------------------------------------------------------------------------------------
// A counting HTTP proxy in front of a real registry: records each request (method, path,
// Accept), the most requests in flight at once, and can drop or falsify the
// `Docker-Content-Digest` header of the registry's answers. One request per connection
// (`Connection: close` is forced), so no HTTP/1.1 pipelining bookkeeping is needed.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    accept: Option<String>,
}

#[derive(Clone, Copy, Default)]
struct ProxyMode {
    /// Delay before forwarding each request (to make concurrency observable).
    delay: Duration,
    /// Drop `Docker-Content-Digest` from HEAD answers (forces the GET fallback).
    strip_head_digest: bool,
    /// Replace `Docker-Content-Digest` of GET answers by a wrong digest.
    wrong_get_digest: bool,
}

struct CountingProxy {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
}

impl CountingProxy {
    fn start(upstream: &str, mode: ProxyMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.to_string();
        let (s, i, m) = (seen.clone(), in_flight.clone(), max_in_flight.clone());
        // Detached: the listener lives until the test process ends.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (s, i, m, up) = (s.clone(), i.clone(), m.clone(), upstream.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(conn, &up, mode, &s, &i, &m);
                });
            }
        });
        CountingProxy {
            addr,
            seen,
            max_in_flight,
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn count(&self, method: &str, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .count()
    }
}

/// Reads an HTTP head (up to and including the blank line).
fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(head)
}

fn header_lines(head: &[u8]) -> (String, Vec<(String, String)>) {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (first, headers)
}

fn proxy_one(
    mut client: TcpStream,
    upstream: &str,
    mode: ProxyMode,
    seen: &Mutex<Vec<Seen>>,
    in_flight: &AtomicUsize,
    max_in_flight: &AtomicUsize,
) -> std::io::Result<()> {
    let head = read_head(&mut client)?;
    let (request_line, headers) = header_lines(&head);
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let accept = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.clone());
    let body_len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if let Ok(mut s) = seen.lock() {
        s.push(Seen {
            method: method.clone(),
            path,
            accept,
        });
    }
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max_in_flight.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(mode.delay);

    // The whole answer is read before it is passed on, and the request stops counting as in
    // flight before the client can see any of it: the client cannot start its next request
    // while this one still counts.
    let answer = (|| {
        let mut up = TcpStream::connect(upstream)?;
        let mut out = format!("{request_line}\r\n");
        for (k, v) in &headers {
            if !k.eq_ignore_ascii_case("connection") {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        up.write_all(out.as_bytes())?;
        let mut body = vec![0u8; body_len];
        client.read_exact(&mut body)?;
        up.write_all(&body)?;

        let response_head = read_head(&mut up)?;
        let (status_line, response_headers) = header_lines(&response_head);
        let mut back = format!("{status_line}\r\n");
        for (k, v) in &response_headers {
            if k.eq_ignore_ascii_case("docker-content-digest") {
                if mode.strip_head_digest && method == "HEAD" {
                    continue;
                }
                if mode.wrong_get_digest && method == "GET" {
                    back.push_str(&format!(
                        "{k}: {}\r\n",
                        support::sha256_digest(b"not this manifest")
                    ));
                    continue;
                }
            }
            back.push_str(&format!("{k}: {v}\r\n"));
        }
        back.push_str("\r\n");
        let mut back = back.into_bytes();
        // `Connection: close` was asked for: the body ends at EOF.
        up.read_to_end(&mut back)?;
        Ok::<_, std::io::Error>(back)
    })();
    in_flight.fetch_sub(1, Ordering::SeqCst);
    client.write_all(&answer?)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn anonymous_oci_and_docker_images_resolve_to_the_registry_digest() {
    let c = live!();
    let reg = &c.registry;
    let repo = unique_repo("anon");
    let oci = c.push_image(reg, None, &repo, "v1");
    let latest = c.push_image(reg, None, &repo, "latest");
    let docker = c.push_docker_image(reg, None, &repo, "docker");
    assert_ne!(oci, latest);
    let (status, head) = c.head_manifest(reg, None, &repo, "v1");
    assert_eq!((status, head.as_deref()), (200, Some(oci.as_str())));

    let refs = [
        img(&format!("{reg}/{repo}:v1")),
        img(&format!("{reg}/{repo}")),
        img(&format!("{reg}/{repo}:docker")),
    ];
    let res = resolve(opts(Duration::from_secs(10)), &refs);
    assert_eq!(res.len(), 3, "{res:?}");
    assert_eq!(ok(&res, &format!("{reg}/{repo}:v1")), oci);
    assert_eq!(ok(&res, &format!("{reg}/{repo}:latest")), latest);
    assert_eq!(ok(&res, &format!("{reg}/{repo}:docker")), docker);
    for r in &refs {
        assert!(res.contains_key(&resolve_key(r)));
    }
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn basic_auth_from_a_docker_config_file() {
    let c = live!();
    let reg = &c.auth_registry;
    let repo = unique_repo("auth");
    let digest = c.push_image(reg, c.auth(), &repo, "v1");
    let key = format!("{reg}/{repo}:v1");
    let refs = [img(&key)];

    // The credentials as `docker login` writes them: base64 `auth` under the host:port.
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", c.auth_user, c.auth_password));
    let dir = tempfile::tempdir().expect("temp dir");
    let config = serde_json::json!({"auths": {reg.as_str(): {"auth": encoded}}});
    std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config.json");
    let mut o = opts(Duration::from_secs(10));
    o.docker_config = Some(dir.path().to_path_buf());
    let res = resolve(o, &refs);
    assert_eq!(ok(&res, &key), digest);

    // No credentials: refused, with a message naming the registry.
    let res = resolve(opts(Duration::from_secs(10)), &refs);
    let e = err(&res, &key);
    assert!(matches!(e, ResolveError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains(reg.as_str()), "{e}");

    // Wrong password (as username/password fields): refused, and never echoed.
    let wrong = format!("{}-wrong-Pa55", c.auth_password);
    let dir = tempfile::tempdir().expect("temp dir");
    let config =
        serde_json::json!({"auths": {reg.as_str(): {"username": c.auth_user, "password": wrong}}});
    std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config.json");
    let mut o = opts(Duration::from_secs(10));
    o.docker_config = Some(dir.path().to_path_buf());
    let res = resolve(o, &refs);
    let e = err(&res, &key);
    assert!(matches!(e, ResolveError::Unauthorized { .. }), "{e:?}");
    let shown = format!("{e} {e:?}");
    assert!(
        !shown.contains(&wrong) && !shown.contains(&c.auth_password),
        "{shown}"
    );
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn multi_arch_tags_pin_the_index_digest() {
    let c = live!();
    let reg = &c.registry;
    let repo = unique_repo("multiarch");
    let (oci_index, oci_children) =
        c.push_index(reg, None, &repo, "oci", &["amd64", "arm64"], Format::Oci);
    let (docker_list, docker_children) = c.push_index(
        reg,
        None,
        &repo,
        "docker",
        &["amd64", "arm64"],
        Format::Docker,
    );
    let res = resolve(
        opts(Duration::from_secs(10)),
        &[
            img(&format!("{reg}/{repo}:oci")),
            img(&format!("{reg}/{repo}:docker")),
        ],
    );
    let got = ok(&res, &format!("{reg}/{repo}:oci"));
    assert_eq!(got, oci_index);
    assert!(!oci_children.iter().any(|c| c == got));
    let got = ok(&res, &format!("{reg}/{repo}:docker"));
    assert_eq!(got, docker_list);
    assert!(!docker_children.iter().any(|c| c == got));
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn missing_tags_and_repositories_are_not_found() {
    let c = live!();
    let reg = &c.registry;
    let repo = unique_repo("missing");
    let digest = c.push_image(reg, None, &repo, "v1");
    let res = resolve(
        opts(Duration::from_secs(10)),
        &[
            img(&format!("{reg}/{repo}:v1")),
            img(&format!("{reg}/{repo}:no-such-tag")),
            img(&format!("{reg}/{repo}-absent:v1")),
        ],
    );
    assert_eq!(ok(&res, &format!("{reg}/{repo}:v1")), digest);
    for key in [
        format!("{reg}/{repo}:no-such-tag"),
        format!("{reg}/{repo}-absent:v1"),
    ] {
        let e = err(&res, &key);
        assert_eq!(
            e,
            &ResolveError::NotFound {
                reference: key.clone()
            }
        );
        assert_eq!(e.to_string(), format!("{key} not found in the registry"));
    }
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn dead_registries_fail_fast_while_others_resolve() {
    let c = live!();
    let reg = &c.registry;
    let repo = unique_repo("dead");
    let digest = c.push_image(reg, None, &repo, "v1");

    // A closed port: bind, note the port, close.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").to_string()
    };
    // A listener that accepts connections (in the kernel's backlog) but never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = silent.local_addr().expect("addr").to_string();

    let refs = [
        img(&format!("{reg}/{repo}:v1")),
        img(&format!("{closed}/app:v1")),
        img(&format!("{silent_addr}/app:v1")),
    ];
    let start = Instant::now();
    let res = resolve(opts(Duration::from_secs(1)), &refs);
    let took = start.elapsed();
    drop(silent);

    assert_eq!(ok(&res, &format!("{reg}/{repo}:v1")), digest);
    let e = err(&res, &format!("{closed}/app:v1"));
    match e {
        ResolveError::Unreachable { registry, reason } => {
            assert_eq!(registry, &closed);
            assert!(reason.to_lowercase().contains("refused"), "{reason}");
        }
        other => panic!("closed port: {other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with(&format!("registry {closed} is unreachable: ")),
        "{e}"
    );
    let e = err(&res, &format!("{silent_addr}/app:v1"));
    assert_eq!(
        e,
        &ResolveError::Timeout {
            registry: silent_addr.clone(),
            secs: 1
        }
    );
    assert_eq!(
        e.to_string(),
        format!("registry {silent_addr} did not answer within 1s (see --registry-timeout)")
    );
    // Version check + HEAD, one timeout each; the overall cap is 4× the timeout.
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn each_reference_once_with_bounded_concurrency_and_all_manifest_types_accepted() {
    let c = live!();
    let reg = &c.registry;
    let repo = unique_repo("count");
    let tags = ["t1", "t2", "t3", "t4", "t5", "latest"];
    let digests: Vec<String> = tags
        .iter()
        .map(|t| c.push_image(reg, None, &repo, t))
        .collect();
    let proxy = CountingProxy::start(
        reg,
        ProxyMode {
            delay: Duration::from_millis(150),
            ..ProxyMode::default()
        },
    );
    let p = &proxy.addr;
    let mut refs = Vec::new();
    for (t, d) in tags.iter().zip(&digests) {
        refs.push(img(&format!("{p}/{repo}:{t}")));
        refs.push(img(&format!("{p}/{repo}:{t}")));
        // The digest in a reference is ignored: same tag, same key.
        refs.push(img(&format!("{p}/{repo}:{t}@{d}")));
    }
    refs.push(img(&format!("{p}/{repo}")));
    let mut o = opts(Duration::from_secs(10));
    o.max_concurrent = 2;
    let res = resolve(o, &refs);

    assert_eq!(res.len(), tags.len(), "{:?}", res.keys());
    for (t, d) in tags.iter().zip(&digests) {
        assert_eq!(ok(&res, &format!("{p}/{repo}:{t}")), d);
        let path = format!("/v2/{repo}/manifests/{t}");
        assert_eq!(
            proxy.count("HEAD", &path),
            1,
            "HEAD {path}: {:#?}",
            proxy.seen()
        );
        assert_eq!(proxy.count("GET", &path), 0, "GET {path}");
    }
    let max = proxy.max_in_flight.load(Ordering::SeqCst);
    assert!(max <= 2, "at most 2 requests in flight, saw {max}");
    assert!(
        max >= 2,
        "resolutions overlapped (saw {max} in flight at most)"
    );
    for s in proxy.seen().iter().filter(|s| s.method == "HEAD") {
        let accept = s.accept.as_deref().unwrap_or_default();
        for t in [
            OCI_INDEX,
            OCI_MANIFEST,
            DOCKER_MANIFEST_LIST,
            DOCKER_MANIFEST,
        ] {
            assert!(
                accept.contains(t),
                "Accept of HEAD {} lacks {t}: {accept}",
                s.path
            );
        }
    }
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn get_fallback_verifies_the_body_against_the_digest() {
    let c = live!();
    let reg = &c.registry;
    let repo = unique_repo("fallback");
    let digest = c.push_image(reg, None, &repo, "v1");
    let key_of = |p: &str| format!("{p}/{repo}:v1");

    // No digest header on HEAD: the GET body's sha256 is the digest.
    let stripped = CountingProxy::start(
        reg,
        ProxyMode {
            strip_head_digest: true,
            ..ProxyMode::default()
        },
    );
    let res = resolve(
        opts(Duration::from_secs(10)),
        &[img(&key_of(&stripped.addr))],
    );
    assert_eq!(ok(&res, &key_of(&stripped.addr)), digest);
    let path = format!("/v2/{repo}/manifests/v1");
    assert_eq!(stripped.count("HEAD", &path), 1);
    assert_eq!(stripped.count("GET", &path), 1);

    // A GET whose digest header does not match the body is rejected.
    let lying = CountingProxy::start(
        reg,
        ProxyMode {
            strip_head_digest: true,
            wrong_get_digest: true,
            ..ProxyMode::default()
        },
    );
    let key = key_of(&lying.addr);
    let res = resolve(opts(Duration::from_secs(10)), &[img(&key)]);
    let e = err(&res, &key);
    assert!(matches!(e, ResolveError::Other { .. }), "{e:?}");
    assert!(e.to_string().contains("does not match its digest"), "{e}");
}

/// A host name (not `localhost`) that resolves only to loopback, including `ip`: the
/// machine's own name usually does (`/etc/hosts`). Such a name is not loopback *by name*, so
/// the resolver must refuse plain HTTP to it unless it is named with `--insecure-registry`.
fn loopback_alias(ip: std::net::IpAddr, port: u16) -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || name == "localhost" || name.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let addrs: Vec<SocketAddr> = (name.as_str(), port).to_socket_addrs().ok()?.collect();
    (!addrs.is_empty()
        && addrs.iter().all(|a| a.ip().is_loopback())
        && addrs.iter().any(|a| a.ip() == ip))
    .then_some(name)
}

#[test]
#[ignore = "live: needs the test bed (tests/run.sh runs it)"]
fn plain_http_needs_loopback_or_insecure_registry() {
    let c = live!();
    let reg = &c.registry;
    let addr: SocketAddr = match reg.to_socket_addrs().ok().and_then(|mut a| a.next()) {
        Some(a) => a,
        None => panic!("cannot resolve {reg}"),
    };
    let Some(alias) = loopback_alias(addr.ip(), addr.port()) else {
        eprintln!(
            "skipped: no host name other than localhost resolves to {}",
            addr.ip()
        );
        return;
    };
    let repo = unique_repo("insecure");
    let digest = c.push_image(reg, None, &repo, "v1");
    let aliased = format!("{alias}:{}", addr.port());
    let key = format!("{aliased}/{repo}:v1");

    let res = resolve(opts(Duration::from_secs(5)), &[img(&key)]);
    let e = err(&res, &key);
    assert_eq!(
        e,
        &ResolveError::InsecureRefused {
            registry: aliased.clone()
        }
    );
    assert!(
        e.to_string()
            .contains(&format!("--insecure-registry {aliased}")),
        "{e}"
    );

    for allowed in [aliased.clone(), alias.clone()] {
        let mut o = opts(Duration::from_secs(5));
        o.insecure = vec![allowed];
        let res = resolve(o, &[img(&key)]);
        assert_eq!(ok(&res, &key), digest);
    }
}
