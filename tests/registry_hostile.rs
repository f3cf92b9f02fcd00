//! `registry::Resolver` against hostile registries: a registry that streams a huge manifest,
//! announces a huge one, drips bytes forever, or points its token realm at another host over
//! plain HTTP (covers issue #15, items 6 and 12).
//!
//! The real test bed's registry (distribution 2.8) cannot be made to misbehave, so these
//! registries are small HTTP/1.1 servers on loopback written here: each one is an adversary,
//! not a stand-in for a well-behaved registry (those tests are in `live_registry.rs`). They need
//! nothing installed and always run.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kubectl_secfix::model::ImageRef;
use kubectl_secfix::registry::{MAX_MANIFEST_BYTES, RegistryOptions, ResolveError, Resolver};

/// What the server sends for one request.
enum Body {
    Fixed(Vec<u8>),
    /// Chunked, `total` bytes of `x` in 64 KiB chunks, as fast as the client reads.
    Endless {
        total: u64,
    },
    /// Announces `Content-Length: length`, then sends as much as the client takes.
    Announced {
        length: u64,
    },
    /// One byte every `every`, for at most `limit`.
    Drip {
        every: Duration,
        limit: Duration,
    },
}

struct Answer {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: Body,
}

fn answer(status: &'static str, headers: &[(&str, &str)], body: Body) -> Answer {
    Answer {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body,
    }
}

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    authorization: Option<String>,
}

/// A loopback HTTP server answering each request with `script`; records requests and counts
/// the body bytes it managed to send.
struct Server {
    addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
    sent: Arc<AtomicU64>,
}

impl Server {
    fn start(host: &str, script: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind(format!("{host}:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let addr = format!("{host}:{}", addr.port());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(AtomicU64::new(0));
        let script = Arc::new(script);
        let (r, s) = (requests.clone(), sent.clone());
        // Detached: the listener lives until the test process ends.
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (r, s, script) = (r.clone(), s.clone(), script.clone());
                std::thread::spawn(move || serve(conn, &*script, &r, &s));
            }
        });
        Server {
            addr,
            requests,
            sent,
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

fn serve(
    mut conn: TcpStream,
    script: &(dyn Fn(&Request) -> Answer + Send + Sync),
    requests: &Mutex<Vec<Request>>,
    sent: &AtomicU64,
) {
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match conn.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return,
            }
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let mut lines = text.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_string();
        let path = first.next().unwrap_or_default().to_string();
        let authorization = lines
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.trim().to_string());
        let req = Request {
            method,
            path,
            authorization,
        };
        if let Ok(mut r) = requests.lock() {
            r.push(req.clone());
        }
        let a = script(&req);
        let mut out = format!("HTTP/1.1 {}\r\n", a.status);
        for (k, v) in &a.headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        let head_only = req.method == "HEAD";
        match &a.body {
            Body::Fixed(b) => out.push_str(&format!("Content-Length: {}\r\n\r\n", b.len())),
            Body::Endless { .. } => out.push_str("Transfer-Encoding: chunked\r\n\r\n"),
            Body::Announced { length } => {
                out.push_str(&format!("Content-Length: {length}\r\n\r\n"))
            }
            Body::Drip { .. } => out.push_str("Transfer-Encoding: chunked\r\n\r\n"),
        }
        if conn.write_all(out.as_bytes()).is_err() {
            return;
        }
        if head_only {
            continue;
        }
        let ok = match a.body {
            Body::Fixed(b) => conn.write_all(&b).is_ok(),
            Body::Endless { total } => {
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = total;
                let mut ok = true;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    let frame = [format!("{n:x}\r\n").as_bytes(), &chunk[..n], b"\r\n"].concat();
                    if conn.write_all(&frame).is_err() {
                        ok = false;
                        break;
                    }
                    sent.fetch_add(n as u64, Ordering::SeqCst);
                    left -= n as u64;
                }
                ok && conn.write_all(b"0\r\n\r\n").is_ok()
            }
            Body::Announced { length } => {
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = length;
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if conn.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                    sent.fetch_add(n as u64, Ordering::SeqCst);
                    left -= n as u64;
                }
                false
            }
            Body::Drip { every, limit } => {
                let start = Instant::now();
                while start.elapsed() < limit {
                    if conn.write_all(b"1\r\nx\r\n").is_err() {
                        return;
                    }
                    sent.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(every);
                }
                false
            }
        };
        if !ok {
            return;
        }
    }
}

fn img(s: &str) -> ImageRef {
    ImageRef::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn resolve(
    opts: RegistryOptions,
    refs: &[ImageRef],
) -> BTreeMap<String, Result<String, ResolveError>> {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(Resolver::new(opts).resolve_all(refs))
}

fn opts(timeout: Duration, docker_config: &std::path::Path) -> RegistryOptions {
    RegistryOptions {
        insecure: Vec::new(),
        timeout,
        max_concurrent: 8,
        docker_config: Some(docker_config.to_path_buf()),
    }
}

fn err(res: &BTreeMap<String, Result<String, ResolveError>>, key: &str) -> ResolveError {
    match res.get(key) {
        Some(Err(e)) => e.clone(),
        other => panic!("{key}: expected an error, got {other:?}"),
    }
}

/// A HEAD without a digest header, then a GET answered by `body`.
fn no_digest_then(body: impl Fn() -> Body + Send + Sync + 'static) -> Server {
    Server::start("127.0.0.1", move |r| match r.method.as_str() {
        "HEAD" => answer("200 OK", &[], Body::Fixed(Vec::new())),
        _ => answer("200 OK", &[], body()),
    })
}

#[test]
fn a_streamed_manifest_past_the_cap_is_cut_off_without_reading_it_all() {
    let total = 256 * 1024 * 1024;
    let server = no_digest_then(move || Body::Endless { total });
    let key = format!("{}/app:v1", server.addr);
    let dir = tempfile::tempdir().expect("temp dir");
    let res = resolve(opts(Duration::from_secs(10), dir.path()), &[img(&key)]);
    let e = err(&res, &key);
    assert_eq!(
        e.to_string(),
        format!("cannot resolve {key}: the manifest is larger than 4 MiB")
    );
    // The client stopped at the cap: what the server could push is the cap plus the socket
    // buffers (loopback autotunes the receive side up to `tcp_rmem`'s maximum, 32 MiB
    // here), nowhere near the 256 MiB on offer.
    std::thread::sleep(Duration::from_millis(200));
    let sent = server.sent.load(Ordering::SeqCst);
    assert!(
        sent < total / 4,
        "server sent {sent} of {total} bytes (cap {MAX_MANIFEST_BYTES})"
    );
}

#[test]
fn a_huge_content_length_is_refused_before_the_body_is_read() {
    let server = no_digest_then(|| Body::Announced {
        length: 3 * 1024 * 1024 * 1024,
    });
    let key = format!("{}/app:v1", server.addr);
    let dir = tempfile::tempdir().expect("temp dir");
    let res = resolve(opts(Duration::from_secs(10), dir.path()), &[img(&key)]);
    assert_eq!(
        err(&res, &key).to_string(),
        format!("cannot resolve {key}: the manifest is larger than 4 MiB")
    );
    std::thread::sleep(Duration::from_millis(200));
    let sent = server.sent.load(Ordering::SeqCst);
    assert!(sent < 12 * 1024 * 1024, "server sent {sent} bytes");
}

#[test]
fn a_registry_that_keeps_dripping_bytes_is_cut_at_the_time_budget() {
    // Each read gets a byte well within the 1 s read timeout, so only the whole-lookup
    // budget (4 × the timeout) can end it.
    let server = no_digest_then(|| Body::Drip {
        every: Duration::from_millis(100),
        limit: Duration::from_secs(30),
    });
    let key = format!("{}/app:v1", server.addr);
    let dir = tempfile::tempdir().expect("temp dir");
    let start = Instant::now();
    let res = resolve(opts(Duration::from_secs(1), dir.path()), &[img(&key)]);
    let took = start.elapsed();
    let registry = server.addr.clone();
    assert_eq!(err(&res, &key), ResolveError::Timeout { registry, secs: 4 });
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

/// A Docker config with `user:pass` for `registry`.
fn config_with_credentials(registry: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let config =
        serde_json::json!({"auths": {registry: {"username": "user", "password": "s3cret-Pa55"}}});
    std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config.json");
    dir
}

/// A registry whose HEAD asks for a Bearer token from `realm` and accepts `Bearer tok`.
fn bearer_registry(realm: Arc<Mutex<String>>) -> Server {
    Server::start("127.0.0.1", move |r| {
        let digest = format!("sha256:{}", "ab".repeat(32));
        if r.path.starts_with("/token") {
            return answer("200 OK", &[], Body::Fixed(br#"{"token":"tok"}"#.to_vec()));
        }
        if r.authorization.as_deref() == Some("Bearer tok") {
            return answer(
                "200 OK",
                &[("Docker-Content-Digest", &digest)],
                Body::Fixed(Vec::new()),
            );
        }
        let realm = realm.lock().map(|r| r.clone()).unwrap_or_default();
        let challenge = format!(r#"Bearer realm="{realm}",service="reg""#);
        answer(
            "401 Unauthorized",
            &[("WWW-Authenticate", &challenge)],
            Body::Fixed(Vec::new()),
        )
    })
}

#[test]
fn basic_credentials_are_never_sent_to_a_plain_http_realm_on_another_host() {
    // The token service: another host name and port, plain HTTP, hands out tokens to anyone.
    let tokens = Server::start("localhost", |_| {
        answer("200 OK", &[], Body::Fixed(br#"{"token":"tok"}"#.to_vec()))
    });
    let realm = Arc::new(Mutex::new(format!("http://{}/token", tokens.addr)));
    let registry = bearer_registry(realm.clone());
    let key = format!("{}/app:v1", registry.addr);
    let dir = config_with_credentials(&registry.addr);

    let res = resolve(opts(Duration::from_secs(5), dir.path()), &[img(&key)]);
    assert_eq!(
        res.get(&key),
        Some(&Ok(format!("sha256:{}", "ab".repeat(32))))
    );
    let asked = tokens.requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        asked[0].authorization, None,
        "credentials leaked: {asked:?}"
    );
    assert!(
        asked[0].path.contains("scope=repository%3Aapp%3Apull"),
        "{asked:?}"
    );

    // The realm on the registry's own host and port gets them (the user allowed plain HTTP
    // to that registry already).
    *realm.lock().expect("lock") = format!("http://{}/token", registry.addr);
    let res = resolve(opts(Duration::from_secs(5), dir.path()), &[img(&key)]);
    assert!(matches!(res.get(&key), Some(Ok(_))), "{res:?}");
    let own = registry
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/token"))
        .expect("token request on the registry itself");
    assert!(
        own.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic ")),
        "{own:?}"
    );

    // A plain-HTTP realm on a host that is not allowed plain HTTP is not contacted at all.
    *realm.lock().expect("lock") = "http://auth.example.invalid/token".to_string();
    let res = resolve(opts(Duration::from_secs(5), dir.path()), &[img(&key)]);
    let e = err(&res, &key).to_string();
    assert!(
        e.contains("--insecure-registry auth.example.invalid"),
        "{e}"
    );
}

#[test]
fn a_token_service_that_refuses_anonymous_access_says_credentials_were_withheld() {
    let tokens = Server::start("localhost", |_| {
        answer(
            "401 Unauthorized",
            &[],
            Body::Fixed(b"need credentials".to_vec()),
        )
    });
    let realm = Arc::new(Mutex::new(format!("http://{}/token", tokens.addr)));
    let registry = bearer_registry(realm);
    let key = format!("{}/app:v1", registry.addr);
    let dir = config_with_credentials(&registry.addr);
    let res = resolve(opts(Duration::from_secs(5), dir.path()), &[img(&key)]);
    let e = err(&res, &key).to_string();
    assert!(e.contains("credentials were not sent"), "{e}");
    assert!(
        !e.contains("s3cret") && !e.contains("need credentials"),
        "{e}"
    );
    assert!(tokens.requests().iter().all(|r| r.authorization.is_none()));
}

fn signatures(
    opts: RegistryOptions,
    targets: &[(ImageRef, String)],
) -> BTreeMap<
    String,
    Result<Vec<kubectl_secfix::checks::unsigned_image::FoundSignature>, ResolveError>,
> {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(Resolver::new(opts).signatures_all(targets))
}

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

/// covers issue #23 (fast at scale): a thousand containers running three digests cost the
/// requests of three signature lookups (the `.sig` tag, the referrers API, the fallback tag).
#[test]
fn signature_lookups_are_made_once_per_distinct_digest() {
    let server = Server::start("127.0.0.1", |_| {
        answer("404 Not Found", &[], Body::Fixed(Vec::new()))
    });
    let image = img(&format!("{}/team/app:v1", server.addr));
    let targets: Vec<(ImageRef, String)> = (0..1000)
        .map(|i| (image.clone(), digest((i % 3) as u8)))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let res = signatures(opts(Duration::from_secs(10), dir.path()), &targets);
    assert_eq!(res.len(), 3);
    assert!(
        res.values().all(|r| matches!(r, Ok(v) if v.is_empty())),
        "{res:?}"
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 9, "{requests:?}");
    let hex = "01".repeat(32);
    for path in [
        format!("/v2/team/app/manifests/sha256-{hex}.sig"),
        format!("/v2/team/app/referrers/sha256:{hex}"),
        format!("/v2/team/app/manifests/sha256-{hex}"),
    ] {
        assert_eq!(
            requests.iter().filter(|r| r.path == path).count(),
            1,
            "{path}: {requests:?}"
        );
    }
}

/// A `.sig` manifest with one simple-signing layer of digest `layer`; the blob answered by
/// `blob`.
fn sig_registry(layer: String, blob: impl Fn() -> Body + Send + Sync + 'static) -> Server {
    Server::start("127.0.0.1", move |r| {
        if r.path.ends_with(".sig") {
            let manifest = format!(
                r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{layer}","size":2}},"layers":[{{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"{layer}","size":10,"annotations":{{"dev.cosignproject.cosign/signature":"c2ln"}}}}]}}"#
            );
            answer("200 OK", &[], Body::Fixed(manifest.into_bytes()))
        } else if r.path.contains("/blobs/") {
            answer("200 OK", &[], blob())
        } else {
            answer("404 Not Found", &[], Body::Fixed(Vec::new()))
        }
    })
}

/// The signatures of `server`'s image fail as too large, and the reading stopped well
/// before the `total` bytes the server would send.
fn assert_cut_off(server: &Server, total: u64) {
    let image = img(&format!("{}/app:v1", server.addr));
    let dir = tempfile::tempdir().expect("temp dir");
    let res = signatures(
        opts(Duration::from_secs(10), dir.path()),
        &[(image, digest(1))],
    );
    let e = res.values().next().unwrap().as_ref().unwrap_err();
    assert!(
        e.to_string().contains("is larger than 1048576 bytes"),
        "{e}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let sent = server.sent.load(Ordering::SeqCst);
    assert!(sent < total / 4, "server sent {sent} of {total} bytes");
}

#[test]
fn a_signature_payload_past_the_cap_is_cut_off() {
    let total = 256 * 1024 * 1024;
    let server = sig_registry(digest(7), move || Body::Endless { total });
    assert_cut_off(&server, total);
}

#[test]
fn a_signature_payload_that_does_not_match_its_digest_is_refused() {
    let server = sig_registry(digest(7), || Body::Fixed(b"{\"critical\":{}}".to_vec()));
    let image = img(&format!("{}/app:v1", server.addr));
    let dir = tempfile::tempdir().expect("temp dir");
    let res = signatures(
        opts(Duration::from_secs(10), dir.path()),
        &[(image, digest(1))],
    );
    let e = res.values().next().unwrap().as_ref().unwrap_err();
    assert!(e.to_string().contains("does not match its digest"), "{e}");
}

/// The keyless fixture (tests/fixtures/cosign-keyless) served as a `.sig` tag: the
/// certificate, chain and Rekor bundle annotations reach the verification, which accepts it
/// offline for its identity.
#[test]
fn a_keyless_sig_layer_is_read_with_its_certificate_and_bundle() {
    use base64::Engine as _;
    use kubectl_secfix::checks::unsigned_image::sigstore::{KeylessPolicy, TrustedRoot};
    use kubectl_secfix::checks::unsigned_image::{TrustPolicy, examine, verdict};
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-keyless");
    let raw = std::fs::read(dir.join("dir-img-cosign-fulcio-rekor-valid/signature-1")).unwrap();
    let v: serde_json::Value =
        serde_json::from_slice(raw.strip_prefix(b"\0sigstore-json\n").unwrap()).unwrap();
    let payload = base64::engine::general_purpose::STANDARD
        .decode(v["payload"].as_str().unwrap())
        .unwrap();
    let payload_digest = {
        use sha2::Digest as _;
        let hex: String = sha2::Sha256::digest(&payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    };
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": payload_digest, "size": 2},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": payload_digest, "size": payload.len(),
                    "annotations": v["annotations"]}],
    })
    .to_string();
    let server = Server::start("127.0.0.1", move |r| {
        if r.path.ends_with(".sig") {
            answer("200 OK", &[], Body::Fixed(manifest.clone().into_bytes()))
        } else if r.path.contains("/blobs/") {
            answer("200 OK", &[], Body::Fixed(payload.clone()))
        } else {
            answer("404 Not Found", &[], Body::Fixed(Vec::new()))
        }
    });
    let image_digest = {
        use sha2::Digest as _;
        let m = std::fs::read(dir.join("dir-img-cosign-fulcio-rekor-valid/manifest.json")).unwrap();
        let hex: String = sha2::Sha256::digest(&m)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("sha256:{hex}")
    };
    let image = img(&format!("{}/cosign-signed/fulcio-rekor-1:v1", server.addr));
    let tmp = tempfile::tempdir().expect("temp dir");
    let res = signatures(
        opts(Duration::from_secs(10), tmp.path()),
        &[(image, image_digest.clone())],
    );
    let found = res.values().next().unwrap().as_ref().unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .keyless
            .as_ref()
            .is_some_and(|k| k.bundle.is_some() && k.chain.is_some())
    );
    let root = std::fs::read(dir.join("trusted_root.json")).unwrap();
    let policy = TrustPolicy::with_keyless(
        Vec::new(),
        Some(KeylessPolicy {
            root: TrustedRoot::from_json(&root).unwrap(),
            identity: Some("mitr@redhat.com".into()),
            identity_regexp: None,
            issuer: "https://github.com/login/oauth".into(),
        }),
    )
    .unwrap();
    let keys = policy.keys_in_force(None);
    assert_eq!(
        verdict(&image_digest, &keys, &examine(&policy, found)),
        Ok("keyless".to_string())
    );
}

fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// A registry without the referrers API whose fallback index (the `sha256-<hex>` tag) lists
/// one Sigstore bundle referrer as cosign 2.5 lists it (artifact type of the empty config);
/// the referrer manifest holds one bundle layer of digest `layer`, whose blob is `blob`.
fn bundle_registry(layer: String, blob: impl Fn() -> Body + Send + Sync + 'static) -> Server {
    let referrer = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                   "size": 2},
        "layers": [{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                    "digest": layer, "size": 10}],
    })
    .to_string();
    let referrer_digest = sha256_of(referrer.as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": referrer_digest, "size": referrer.len(),
                       "artifactType": "application/vnd.oci.empty.v1+json"}],
    })
    .to_string();
    Server::start("127.0.0.1", move |r| {
        if r.path.contains("/blobs/") {
            answer("200 OK", &[], blob())
        } else if r.path.ends_with(&format!("/manifests/{referrer_digest}")) {
            answer("200 OK", &[], Body::Fixed(referrer.clone().into_bytes()))
        } else if r.path.contains("/manifests/sha256-") && !r.path.ends_with(".sig") {
            answer("200 OK", &[], Body::Fixed(index.clone().into_bytes()))
        } else {
            answer("404 Not Found", &[], Body::Fixed(Vec::new()))
        }
    })
}

/// The bundle cosign 2.5 wrote (tests/fixtures/cosign-bundle), served as a referrer: found as
/// a bundle, verified with its key for its image.
#[test]
fn a_bundle_referrer_is_read_and_verifies_for_its_image() {
    use kubectl_secfix::checks::unsigned_image::{
        SignatureSource, TrustPolicy, TrustedKey, examine, verdict,
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cosign-bundle");
    let bundle = std::fs::read(dir.join("cosign-attest-key.sigstore.json")).unwrap();
    let image_digest = sha256_of(&std::fs::read(dir.join("image-manifest.json")).unwrap());
    let served = bundle.clone();
    let server = bundle_registry(sha256_of(&bundle), move || Body::Fixed(served.clone()));
    let image = img(&format!("{}/app/one:v1", server.addr));
    let tmp = tempfile::tempdir().expect("temp dir");
    let res = signatures(
        opts(Duration::from_secs(10), tmp.path()),
        &[(image, image_digest.clone())],
    );
    let found = res.values().next().unwrap().as_ref().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].source, SignatureSource::Bundle);
    assert_eq!(found[0].payload, bundle);
    let key = TrustedKey::from_pem("k1.pub", &std::fs::read(dir.join("k1.pub")).unwrap()).unwrap();
    let policy = TrustPolicy::new(vec![key]).unwrap();
    assert_eq!(
        verdict(
            &image_digest,
            &policy.keys_in_force(None),
            &examine(&policy, found)
        ),
        Ok("k1".to_string())
    );
}

#[test]
fn a_bundle_past_the_cap_or_not_matching_its_digest_is_refused() {
    let total = 256 * 1024 * 1024;
    let server = bundle_registry(digest(7), move || Body::Endless { total });
    assert_cut_off(&server, total);

    let tmp = tempfile::tempdir().expect("temp dir");
    let server = bundle_registry(digest(7), || Body::Fixed(b"{}".to_vec()));
    let image = img(&format!("{}/app:v1", server.addr));
    let res = signatures(
        opts(Duration::from_secs(10), tmp.path()),
        &[(image, digest(1))],
    );
    let e = res.values().next().unwrap().as_ref().unwrap_err();
    assert!(e.to_string().contains("does not match its digest"), "{e}");
}

/// Issue 20: a referrers answer that is not an OCI image index was read as "no referrers",
/// so the image looked unsigned when its signatures could not be read at all. Now it is an
/// error for that image.
#[test]
fn an_unreadable_referrers_index_is_an_error_not_unsigned() {
    let server = Server::start("127.0.0.1", |r| {
        if r.path.contains("/referrers/") {
            answer(
                "200 OK",
                &[],
                Body::Fixed(b"<html>not json</html>".to_vec()),
            )
        } else {
            answer("404 Not Found", &[], Body::Fixed(Vec::new()))
        }
    });
    let image = img(&format!("{}/team/app:v1", server.addr));
    let dir = tempfile::tempdir().expect("temp dir");
    let res = signatures(
        opts(Duration::from_secs(10), dir.path()),
        &[(image, digest(1))],
    );
    let e = res.values().next().unwrap().as_ref().unwrap_err();
    assert!(
        e.to_string()
            .contains("referrers index is not an OCI image index"),
        "{e}"
    );
}

/// Issue 20: a `.sig` tag whose manifest is not JSON was skipped, so the image looked
/// unsigned when its signature could not be read. Now it is an error for that image.
#[test]
fn an_unreadable_sig_manifest_is_an_error_not_unsigned() {
    let server = Server::start("127.0.0.1", |r| {
        if r.path.ends_with(".sig") {
            answer("200 OK", &[], Body::Fixed(b"not a manifest".to_vec()))
        } else {
            answer("404 Not Found", &[], Body::Fixed(Vec::new()))
        }
    });
    let image = img(&format!("{}/team/app:v1", server.addr));
    let dir = tempfile::tempdir().expect("temp dir");
    let res = signatures(
        opts(Duration::from_secs(10), dir.path()),
        &[(image, digest(1))],
    );
    let e = res.values().next().unwrap().as_ref().unwrap_err();
    assert!(
        e.to_string()
            .contains(".sig manifest is not an image manifest"),
        "{e}"
    );
}
