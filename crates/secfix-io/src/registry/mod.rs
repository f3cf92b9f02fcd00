//! Digests from OCI registries, for pinning mutable image tags (`--digest-source registry`).
//!
//! [`Resolver::resolve_all`] asks each image's registry for the digest its tag points at, with
//! the OCI distribution API (the requests are in [`distribution`]):
//!
//! - **Request**: `HEAD /v2/<repository>/manifests/<tag>` with an `Accept` header listing
//!   [`MANIFEST_MEDIA_TYPES`] (OCI index, OCI manifest, Docker manifest list, Docker v2
//!   manifest); the digest is the `Docker-Content-Digest` header. When a registry sends no
//!   such header, a `GET` follows and the digest is the sha256 of the body, hashed while it
//!   streams and never read past [`MAX_MANIFEST_BYTES`] (a larger `Content-Length` is refused
//!   before the body); when the `GET` has the header too, the body is verified against it.
//! - **Multi-arch**: a tag that names an index (or Docker manifest list) is pinned to the
//!   *index* digest. No platform is chosen, so the pinned reference keeps working on every
//!   node architecture.
//! - **Auth**: anonymous first; a `401` is answered once, with HTTP basic or with a pull token
//!   from a `WWW-Authenticate: Bearer realm=…` challenge. Credentials come from the Docker
//!   config (see [`credentials`]). They go to a token realm only over HTTPS, or over plain
//!   HTTP to the registry's own host and port: never to another host over plain HTTP.
//! - **Plain HTTP** only for loopback registries and `--insecure-registry` hosts (see
//!   [`plain_http_allowed`]); such registries are reached over HTTP only (HTTPS is not tried
//!   first). Any other registry (and any token realm or redirect target) is reached over
//!   HTTPS; one that answers in plain HTTP gives [`ResolveError::InsecureRefused`].
//! - **Docker Hub**: references are normalised to registry `docker.io` by [`ImageRef`]; the
//!   API requests go to `registry-1.docker.io`.
//! - **Timeouts**: every request has a connect and a read timeout of
//!   [`RegistryOptions::timeout`] (at most [`MAX_TIMEOUT_SECS`]); one reference's whole
//!   resolution (token, `HEAD`, maybe `GET` and its body) is capped at four times that, and
//!   since bodies are read chunk by chunk the cap holds even against a registry that keeps
//!   sending. All arithmetic on durations saturates.
//! - **Concurrency**: each distinct `registry/repository:tag` is resolved once, at most
//!   [`RegistryOptions::max_concurrent`] at a time. Failures are per reference: one
//!   unreachable registry does not stop the others.
//!
//! Error messages are short (they become a finding's "not fixable" reason) and never hold a
//! credential or a registry's response body.
//!
//! `rustls` is a direct dependency for two small things: telling a plain-HTTP answer to a TLS
//! handshake apart (a downcast in the error chain), and installing `ring` as rustls' crypto
//! provider (`reqwest` is built with `rustls-no-provider`, and panics without one).

pub mod credentials;
pub mod distribution;
mod plain_http;
pub mod signatures;

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use futures::StreamExt;

use distribution::{Auth, Lookup};
use secfix_core::model::ImageRef;

pub use credentials::docker_config_dir;
pub use distribution::MAX_MANIFEST_BYTES;
pub use plain_http::{is_loopback_registry, plain_http_allowed};

/// The manifest media types accepted when resolving a tag: OCI image index, OCI image
/// manifest, Docker manifest list, Docker v2 manifest.
pub(crate) const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The largest `--registry-timeout` (one hour); [`RegistryOptions::timeout`] is capped to it.
pub const MAX_TIMEOUT_SECS: u64 = 3600;

/// Default for [`RegistryOptions::max_concurrent`].
pub const DEFAULT_MAX_CONCURRENT: usize = 8;

/// The `User-Agent` sent to registries.
const USER_AGENT: &str = concat!("kubectl-secfix/", env!("CARGO_PKG_VERSION"));

/// How the [`Resolver`] reaches registries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`, or `host` for any port) that may be reached over plain
    /// HTTP, from `--insecure-registry`. Loopback registries always may.
    pub insecure: Vec<String>,
    /// Connect and read timeout of each request (`--registry-timeout`).
    pub timeout: Duration,
    /// How many references are resolved at the same time (at least 1 is used).
    pub max_concurrent: usize,
    /// Docker config directory (holding `config.json`); `None`: `$DOCKER_CONFIG`, else
    /// `~/.docker`.
    pub docker_config: Option<PathBuf>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            timeout: Duration::from_secs(10),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            docker_config: None,
        }
    }
}

/// Why a tag could not be resolved to a digest. The messages are short, name the registry or
/// reference, and never hold a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The registry has no such repository or tag.
    #[error("{reference} not found in the registry")]
    NotFound { reference: String },
    /// The registry refused access: no credentials, wrong ones, or (on some registries, such
    /// as Docker Hub) a repository that does not exist.
    #[error(
        "registry {registry} refused access (log in with `docker login {registry}`, or check the repository name)"
    )]
    Unauthorized { registry: String },
    /// A request got no answer in time.
    #[error("registry {registry} did not answer within {secs}s (see --registry-timeout)")]
    Timeout { registry: String, secs: u64 },
    /// No connection could be made (refused, DNS, TLS, closed).
    #[error("registry {registry} is unreachable: {reason}")]
    Unreachable { registry: String, reason: String },
    /// The registry speaks plain HTTP only and is neither loopback nor allowed.
    #[error(
        "registry {registry} answers in plain HTTP only; allow it with --insecure-registry {registry}"
    )]
    InsecureRefused { registry: String },
    /// Anything else (bad Docker config, rate limit, malformed answer, …).
    #[error("cannot resolve {reference}: {reason}")]
    Other { reference: String, reason: String },
}

/// The key of a reference in [`Resolver::resolve_all`]'s answer:
/// `ImageRef::full_name() + ":" + effective_tag()` (`docker.io/library/nginx:latest`).
pub fn resolve_key(image: &ImageRef) -> String {
    format!("{}:{}", image.full_name(), image.effective_tag())
}

/// The distinct references of `refs`, by [`resolve_key`] (the first spelling wins).
fn distinct(refs: &[ImageRef]) -> BTreeMap<String, &ImageRef> {
    let mut out = BTreeMap::new();
    for r in refs {
        out.entry(resolve_key(r)).or_insert(r);
    }
    out
}

/// Installs `ring` as rustls' process-wide crypto provider, once. `kube` selects the same
/// provider, so whichever runs first, both agree.
fn ensure_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Err only when another thread installed one first, which is as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

/// Resolves image tags to manifest digests. See the module documentation for the protocol,
/// auth and safety rules.
#[derive(Debug, Clone)]
pub struct Resolver {
    opts: RegistryOptions,
}

impl Resolver {
    /// A resolver with `opts`. Nothing is contacted or read until [`Self::resolve_all`].
    pub fn new(mut opts: RegistryOptions) -> Self {
        opts.timeout = opts.timeout.min(Duration::from_secs(MAX_TIMEOUT_SECS));
        Self { opts }
    }

    /// The cap on one reference's whole resolution: four times the request timeout.
    fn budget(&self) -> Duration {
        self.opts.timeout.saturating_mul(4)
    }

    /// Resolves every distinct reference in `refs` once, at most `max_concurrent` at a time,
    /// and answers per [`resolve_key`]: the digest (`sha256:…`) or why not.
    pub async fn resolve_all(
        &self,
        refs: &[ImageRef],
    ) -> BTreeMap<String, Result<String, ResolveError>> {
        let jobs = distinct(refs);
        if jobs.is_empty() {
            return BTreeMap::new();
        }
        let registries: BTreeSet<&str> = jobs.values().map(|r| r.registry.as_str()).collect();
        let client = match self.client(&registries) {
            Ok(c) => c,
            Err(reason) => return every_key_failed(jobs.into_keys(), &reason),
        };
        let auths = self.credentials(&registries).await;
        let client = &client;
        let auths = &auths;
        // The futures are collected first, so no closure over `(String, &ImageRef)` is part
        // of the future's type: that keeps the resolution `Send` (a scan of several contexts
        // runs each in a task of its own), which rustc cannot prove through the closure's
        // higher-ranked lifetime.
        let lookups: Vec<_> = jobs
            .into_iter()
            .map(|(key, image)| async move {
                let result = match auth_of(auths, image.registry.as_str(), &key) {
                    Ok(auth) => self.resolve_one(client, image, &key, auth).await,
                    Err(e) => Err(e),
                };
                (key, result)
            })
            .collect();
        futures::stream::iter(lookups)
            .buffer_unordered(self.opts.max_concurrent.max(1))
            .collect()
            .await
    }

    /// The HTTP client: the request timeouts, and redirects only where plain HTTP is allowed.
    fn client(&self, _registries: &BTreeSet<&str>) -> Result<reqwest::Client, String> {
        ensure_crypto_provider();
        distribution::client(self.opts.timeout, &self.opts.insecure, USER_AGENT)
    }

    /// The credentials for each registry, from the Docker config; an `Err` holds the reason
    /// (bad config file, failing credential helper) for every reference of that registry.
    async fn credentials<'a>(
        &self,
        registries: &BTreeSet<&'a str>,
    ) -> BTreeMap<&'a str, Result<Auth, String>> {
        let dir = self.opts.docker_config.clone();
        let names: Vec<String> = registries.iter().map(|r| r.to_string()).collect();
        let timeout = self.opts.timeout.saturating_mul(2);
        // Reading the file and running credential helpers block: off the async threads.
        let lookup = tokio::task::spawn_blocking(move || {
            let config = credentials::DockerConfig::load(dir.as_deref());
            names
                .into_iter()
                .map(|name| {
                    let auth = match &config {
                        Ok(c) => c.auth_for(&name),
                        Err(e) => Err(e.clone()),
                    };
                    (name, auth)
                })
                .collect::<BTreeMap<String, _>>()
        });
        let found = match tokio::time::timeout(timeout, lookup).await {
            Ok(Ok(found)) => found,
            Ok(Err(_)) => BTreeMap::new(),
            Err(_) => {
                let reason = format!(
                    "reading registry credentials (Docker config, credential helper) took over {}s",
                    secs(timeout)
                );
                return registries
                    .iter()
                    .map(|r| (*r, Err(reason.clone())))
                    .collect();
            }
        };
        registries
            .iter()
            .map(|r| {
                let auth = found
                    .get(*r)
                    .cloned()
                    .unwrap_or(Err("credential lookup failed".to_string()));
                (*r, auth)
            })
            .collect()
    }

    async fn resolve_one(
        &self,
        client: &reqwest::Client,
        image: &ImageRef,
        key: &str,
        auth: &Auth,
    ) -> Result<String, ResolveError> {
        let registry = image.registry.as_str();
        let timeout_secs = secs(self.opts.timeout);
        let plain_allowed = plain_http_allowed(registry, &self.opts.insecure);
        let transport =
            |e: &reqwest::Error| transport_error(e, registry, timeout_secs, plain_allowed);
        let lookup = Lookup {
            client,
            image,
            key,
            auth,
            insecure: &self.opts.insecure,
            transport: &transport,
        };
        let budget = self.budget();
        match tokio::time::timeout(budget, lookup.digest()).await {
            Ok(result) => result,
            Err(_) => Err(ResolveError::Timeout {
                registry: registry.to_string(),
                secs: secs(budget),
            }),
        }
    }
}

/// Whole seconds for messages, rounded up (at least 1).
fn secs(d: Duration) -> u64 {
    d.as_secs()
        .saturating_add(u64::from(d.subsec_nanos() > 0 || d.is_zero()))
}

/// Maps a transport error (no answer) to a [`ResolveError`]: a timeout, a plain-HTTP answer
/// to a TLS handshake, or an unreachable registry named by the innermost cause (no URL).
fn transport_error(
    e: &reqwest::Error,
    registry: &str,
    timeout_secs: u64,
    plain_allowed: bool,
) -> ResolveError {
    if e.is_timeout() || chain(e).iter().any(|c| is_io_timeout(*c)) {
        ResolveError::Timeout {
            registry: registry.to_string(),
            secs: timeout_secs,
        }
    } else if !plain_allowed && answered_plain_http(e) {
        ResolveError::InsecureRefused {
            registry: registry.to_string(),
        }
    } else {
        ResolveError::Unreachable {
            registry: registry.to_string(),
            reason: root_cause(e),
        }
    }
}

fn is_io_timeout(e: &(dyn StdError + 'static)) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
}

/// The errors of a chain, looking inside `io::Error`s (whose `source()` skips the error they
/// wrap).
fn chain<'a>(e: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut cur = Some(e);
    while let Some(err) = cur {
        out.push(err);
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => err.source(),
        };
    }
    out
}

/// Whether a TLS handshake failed because the peer answered with something that is not TLS
/// (a plain-HTTP server's `HTTP/1.1 400` reply).
fn answered_plain_http(e: &reqwest::Error) -> bool {
    chain(e).into_iter().any(|err| {
        matches!(
            err.downcast_ref::<rustls::Error>(),
            Some(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
        )
    })
}

/// The innermost cause of a transport error (`Connection refused (os error 111)`,
/// `invalid peer certificate: UnknownIssuer`), which names no URL.
fn root_cause(e: &reqwest::Error) -> String {
    let causes = chain(e);
    let text = causes
        .last()
        .map(|c| c.to_string())
        .unwrap_or_else(|| e.to_string());
    short(&text)
}

/// At most 160 characters, on one line.
fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// Every key of a lookup failed for the same `reason` (the HTTP client could not be built).
pub(crate) fn every_key_failed<T>(
    keys: impl IntoIterator<Item = String>,
    reason: &str,
) -> BTreeMap<String, Result<T, ResolveError>> {
    keys.into_iter()
        .map(|reference| {
            let err = ResolveError::Other {
                reference: reference.clone(),
                reason: reason.to_string(),
            };
            (reference, Err(err))
        })
        .collect()
}

/// The credentials for `registry` from `auths` (anonymous when none are configured), or why
/// there are none usable, as the failure of lookup `key`.
pub(crate) fn auth_of<'a>(
    auths: &'a BTreeMap<&str, Result<Auth, String>>,
    registry: &str,
    key: &str,
) -> Result<&'a Auth, ResolveError> {
    static ANONYMOUS: Auth = Auth::Anonymous;
    match auths.get(registry) {
        Some(Ok(auth)) => Ok(auth),
        Some(Err(reason)) => Err(ResolveError::Other {
            reference: key.to_string(),
            reason: reason.clone(),
        }),
        None => Ok(&ANONYMOUS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn reference_mapping() {
        let hex = "0123456789abcdef".repeat(4);
        let cases = [
            // (image, API host, repository, key)
            (
                "nginx".to_string(),
                "registry-1.docker.io",
                "library/nginx",
                "docker.io/library/nginx:latest",
            ),
            (
                "bitnami/redis:7.2".to_string(),
                "registry-1.docker.io",
                "bitnami/redis",
                "docker.io/bitnami/redis:7.2",
            ),
            (
                "localhost:5000/team/app:v2".to_string(),
                "localhost:5000",
                "team/app",
                "localhost:5000/team/app:v2",
            ),
            (
                format!("ghcr.io/org/tool@sha256:{hex}"),
                "ghcr.io",
                "org/tool",
                "ghcr.io/org/tool:latest",
            ),
            (
                format!("127.0.0.1:5000/app:1.0@sha256:{hex}"),
                "127.0.0.1:5000",
                "app",
                "127.0.0.1:5000/app:1.0",
            ),
        ];
        for (s, api, repo, key) in cases {
            let image = img(&s);
            assert_eq!(distribution::api_host(&image.registry), api, "{s}");
            assert_eq!(image.repository, repo, "{s}");
            assert_eq!(
                resolve_key(&image),
                key,
                "{s}: the tag is resolved, not the digest"
            );
        }
    }

    /// covers issue #15 (item 5): no timeout overflows, however large.
    #[test]
    fn huge_timeouts_saturate() {
        let r = Resolver::new(RegistryOptions {
            timeout: Duration::MAX,
            ..RegistryOptions::default()
        });
        assert_eq!(r.opts.timeout, Duration::from_secs(MAX_TIMEOUT_SECS));
        assert_eq!(r.budget(), Duration::from_secs(4 * MAX_TIMEOUT_SECS));
        assert_eq!(Duration::MAX.saturating_mul(4), Duration::MAX);
        assert_eq!(secs(Duration::MAX), u64::MAX);
    }

    #[test]
    fn accept_header_media_types() {
        assert_eq!(
            MANIFEST_MEDIA_TYPES,
            [
                "application/vnd.oci.image.index.v1+json",
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.docker.distribution.manifest.list.v2+json",
                "application/vnd.docker.distribution.manifest.v2+json",
            ]
        );
    }

    #[test]
    fn distinct_references_once() {
        let refs = [
            img("nginx"),
            img("nginx:latest"),
            img("docker.io/library/nginx"),
            img("index.docker.io/library/nginx:latest"),
            img("nginx:1.25"),
            img("localhost:5000/app"),
            img("localhost:5000/app:latest"),
            img("127.0.0.1:5000/app"),
        ];
        let d = distinct(&refs);
        let keys: Vec<&str> = d.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "127.0.0.1:5000/app:latest",
                "docker.io/library/nginx:1.25",
                "docker.io/library/nginx:latest",
                "localhost:5000/app:latest",
            ]
        );
        assert_eq!(d["docker.io/library/nginx:latest"].original, "nginx");
    }

    #[test]
    fn seconds_round_up() {
        assert_eq!(secs(Duration::from_secs(10)), 10);
        assert_eq!(secs(Duration::from_millis(1500)), 2);
        assert_eq!(secs(Duration::from_millis(200)), 1);
        assert_eq!(secs(Duration::ZERO), 1);
    }

    #[test]
    fn messages_are_short_and_name_flags() {
        let e = ResolveError::InsecureRefused {
            registry: "reg.lan:5000".into(),
        };
        assert_eq!(
            e.to_string(),
            "registry reg.lan:5000 answers in plain HTTP only; allow it with --insecure-registry reg.lan:5000"
        );
        let e = ResolveError::Timeout {
            registry: "reg.lan".into(),
            secs: 3,
        };
        assert!(e.to_string().contains("--registry-timeout"));
        assert_eq!(short(&"x".repeat(300)).chars().count(), 161);
        assert_eq!(short("a\nb"), "a");
    }
}
