//! Digests from OCI registries, for pinning mutable image tags (`--digest-source registry`).
//!
//! [`Resolver::resolve_all`] asks each image's registry for the digest its tag points at, with
//! the OCI distribution API through the `oci-client` crate:
//!
//! - **Request**: `HEAD /v2/<repository>/manifests/<tag>` with an `Accept` header listing
//!   [`MANIFEST_MEDIA_TYPES`] (OCI index, OCI manifest, Docker manifest list, Docker v2
//!   manifest); the digest is the `Docker-Content-Digest` header. When a registry sends no
//!   such header, a `GET` follows and the digest is the sha256 of the body; when the `GET`
//!   has the header too, the body is verified against it (`oci-client` does both; the private
//!   constant it sends as `Accept` holds exactly [`MANIFEST_MEDIA_TYPES`]).
//! - **Multi-arch**: a tag that names an index (or Docker manifest list) is pinned to the
//!   *index* digest. No platform is chosen, so the pinned reference keeps working on every
//!   node architecture.
//! - **Auth**: anonymous, HTTP basic, and the bearer-token challenge (`WWW-Authenticate:
//!   Bearer realm=…`, with the basic credentials sent to the token endpoint) are handled by
//!   `oci-client`. Credentials come from the Docker config (see [`credentials`]).
//! - **Plain HTTP** only for loopback registries and `--insecure-registry` hosts (see
//!   [`plain_http_allowed`]); such registries are reached over HTTP only (HTTPS is not tried
//!   first). Any other registry is reached over HTTPS; one that answers in plain HTTP gives
//!   [`ResolveError::InsecureRefused`].
//! - **Docker Hub**: references are normalised to registry `docker.io` by [`ImageRef`];
//!   `oci-client` sends the API requests for `docker.io` to `index.docker.io`.
//! - **Timeouts**: every request has a connect and a read timeout of
//!   [`RegistryOptions::timeout`]; as a backstop, one reference's whole resolution (version
//!   check, token, `HEAD`, maybe `GET`) is capped at four times that.
//! - **Concurrency**: each distinct `registry/repository:tag` is resolved once, at most
//!   [`RegistryOptions::max_concurrent`] at a time. Failures are per reference: one
//!   unreachable registry does not stop the others.
//!
//! Error messages are short (they become a finding's "not fixable" reason) and never hold a
//! credential or a registry's response body.
//!
//! `reqwest` and `rustls` are direct dependencies only for two small things `oci-client`
//! does not do: telling a timeout from a refused connection from a plain-HTTP answer to a TLS
//! handshake (downcasts in the error chain), and installing `ring` as rustls' crypto provider
//! (`oci-client` is built with `rustls-tls-no-provider`, whose `reqwest` panics without one).

pub mod credentials;
mod plain_http;

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error as StdError;
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use futures::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::model::ImageRef;

pub use credentials::docker_config_dir;
pub use plain_http::{is_loopback_registry, plain_http_allowed};

/// The manifest media types accepted when resolving a tag: OCI image index, OCI image
/// manifest, Docker manifest list, Docker v2 manifest.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
];

/// Default for [`RegistryOptions::max_concurrent`].
pub const DEFAULT_MAX_CONCURRENT: usize = 8;

/// The `User-Agent` sent to registries.
const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

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

/// The `oci-client` reference for `image`'s tag. A digest in `image` is ignored: the tag (or
/// `latest`) is what gets resolved.
fn oci_reference(image: &ImageRef) -> Reference {
    Reference::with_tag(
        image.registry.clone(),
        image.repository.clone(),
        image.effective_tag().to_string(),
    )
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
    pub fn new(opts: RegistryOptions) -> Self {
        Self { opts }
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
            Err(reason) => {
                return jobs
                    .into_keys()
                    .map(|reference| {
                        let reason = reason.clone();
                        (
                            reference.clone(),
                            Err(ResolveError::Other { reference, reason }),
                        )
                    })
                    .collect();
            }
        };
        let auths = self.credentials(&registries).await;
        let client = &client;
        let auths = &auths;
        futures::stream::iter(jobs)
            .map(|(key, image)| async move {
                let result = match auths.get(image.registry.as_str()) {
                    Some(Ok(auth)) => self.resolve_one(client, image, &key, auth).await,
                    Some(Err(reason)) => Err(ResolveError::Other {
                        reference: key.clone(),
                        reason: reason.clone(),
                    }),
                    None => {
                        self.resolve_one(client, image, &key, &RegistryAuth::Anonymous)
                            .await
                    }
                };
                (key, result)
            })
            .buffer_unordered(self.opts.max_concurrent.max(1))
            .collect()
            .await
    }

    /// An `oci-client` client that uses plain HTTP for exactly the allowed registries among
    /// `registries` (`oci-client` matches the registry string exactly).
    fn client(&self, registries: &BTreeSet<&str>) -> Result<Client, String> {
        ensure_crypto_provider();
        let plain: Vec<String> = registries
            .iter()
            .filter(|r| plain_http_allowed(r, &self.opts.insecure))
            .map(|r| r.to_string())
            .collect();
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain),
            platform_resolver: None,
            read_timeout: Some(self.opts.timeout),
            connect_timeout: Some(self.opts.timeout),
            user_agent: USER_AGENT,
            ..ClientConfig::default()
        };
        Client::try_from(config).map_err(|e| format!("cannot set up the registry client: {e}"))
    }

    /// The credentials for each registry, from the Docker config; an `Err` holds the reason
    /// (bad config file, failing credential helper) for every reference of that registry.
    async fn credentials<'a>(
        &self,
        registries: &BTreeSet<&'a str>,
    ) -> BTreeMap<&'a str, Result<RegistryAuth, String>> {
        let dir = self.opts.docker_config.clone();
        let names: Vec<String> = registries.iter().map(|r| r.to_string()).collect();
        let timeout = self.opts.timeout;
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
        let found = match tokio::time::timeout(timeout * 2, lookup).await {
            Ok(Ok(found)) => found,
            Ok(Err(_)) => BTreeMap::new(),
            Err(_) => {
                let reason = format!(
                    "reading registry credentials (Docker config, credential helper) took over {}s",
                    secs(timeout * 2)
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
        client: &Client,
        image: &ImageRef,
        key: &str,
        auth: &RegistryAuth,
    ) -> Result<String, ResolveError> {
        let reference = oci_reference(image);
        let budget = self.opts.timeout * 4;
        let registry = image.registry.clone();
        match tokio::time::timeout(budget, client.fetch_manifest_digest(&reference, auth)).await {
            Err(_) => Err(ResolveError::Timeout {
                registry,
                secs: secs(self.opts.timeout),
            }),
            Ok(Ok(digest)) if crate::model::image_ref::is_sha256_digest(&digest) => Ok(digest),
            Ok(Ok(_)) => Err(ResolveError::Other {
                reference: key.to_string(),
                reason: "the registry answered with a malformed or non-sha256 digest".into(),
            }),
            Ok(Err(e)) => Err(classify(
                &e,
                key,
                &registry,
                secs(self.opts.timeout),
                plain_http_allowed(&image.registry, &self.opts.insecure),
            )),
        }
    }
}

/// Whole seconds for messages, rounded up (at least 1).
fn secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0 || d.is_zero())
}

/// Maps an `oci-client` error to a [`ResolveError`]. Registry bodies and URLs are left out.
fn classify(
    e: &OciDistributionError,
    key: &str,
    registry: &str,
    timeout_secs: u64,
    plain_allowed: bool,
) -> ResolveError {
    let other = |reason: String| ResolveError::Other {
        reference: key.to_string(),
        reason,
    };
    let not_found = || ResolveError::NotFound {
        reference: key.to_string(),
    };
    let unauthorized = || ResolveError::Unauthorized {
        registry: registry.to_string(),
    };
    match e {
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => unauthorized(),
        OciDistributionError::ImageManifestNotFoundError(_) => not_found(),
        OciDistributionError::RegistryError { envelope, .. } => {
            let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
            if codes.iter().any(|c| {
                matches!(
                    c,
                    OciErrorCode::ManifestUnknown
                        | OciErrorCode::NameUnknown
                        | OciErrorCode::NotFound
                )
            }) {
                not_found()
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
            {
                unauthorized()
            } else if codes
                .iter()
                .any(|c| matches!(c, OciErrorCode::Toomanyrequests))
            {
                other(format!("rate limited by registry {registry}"))
            } else {
                let names: Vec<String> = codes.iter().map(|c| error_code_name(c)).collect();
                other(format!("registry {registry} answered {}", names.join(", ")))
            }
        }
        OciDistributionError::ServerError { code, .. } => match code {
            404 => not_found(),
            401 | 403 => unauthorized(),
            429 => other(format!("rate limited by registry {registry}")),
            c => other(format!("registry {registry} answered HTTP {c}")),
        },
        OciDistributionError::DigestError(d) => {
            other(format!("the manifest does not match its digest ({d})"))
        }
        OciDistributionError::RequestError(re) => {
            if re.is_timeout() {
                ResolveError::Timeout {
                    registry: registry.to_string(),
                    secs: timeout_secs,
                }
            } else if !plain_allowed && answered_plain_http(re) {
                ResolveError::InsecureRefused {
                    registry: registry.to_string(),
                }
            } else {
                ResolveError::Unreachable {
                    registry: registry.to_string(),
                    reason: root_cause(re),
                }
            }
        }
        e => other(short(&e.to_string())),
    }
}

/// The spec's name of an error code (`MANIFEST_INVALID`).
fn error_code_name(c: &OciErrorCode) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{c:?}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn img(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    #[test]
    fn reference_mapping() {
        let cases = [
            // (image, registry, API host, repository, tag, key)
            (
                "nginx",
                "docker.io",
                "index.docker.io",
                "library/nginx",
                "latest",
                "docker.io/library/nginx:latest",
            ),
            (
                "bitnami/redis:7.2",
                "docker.io",
                "index.docker.io",
                "bitnami/redis",
                "7.2",
                "docker.io/bitnami/redis:7.2",
            ),
            (
                "localhost:5000/team/app:v2",
                "localhost:5000",
                "localhost:5000",
                "team/app",
                "v2",
                "localhost:5000/team/app:v2",
            ),
            (
                "ghcr.io/org/tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "ghcr.io",
                "ghcr.io",
                "org/tool",
                "latest",
                "ghcr.io/org/tool:latest",
            ),
            (
                "127.0.0.1:5000/app:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "127.0.0.1:5000",
                "127.0.0.1:5000",
                "app",
                "1.0",
                "127.0.0.1:5000/app:1.0",
            ),
        ];
        for (s, registry, api, repo, tag, key) in cases {
            let image = img(s);
            let r = oci_reference(&image);
            assert_eq!(r.registry(), registry, "{s}");
            assert_eq!(r.resolve_registry(), api, "{s}");
            assert_eq!(r.repository(), repo, "{s}");
            assert_eq!(r.tag(), Some(tag), "{s}");
            assert_eq!(r.digest(), None, "{s}: the tag is resolved, not the digest");
            assert_eq!(resolve_key(&image), key, "{s}");
        }
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

    #[test]
    fn classify_registry_answers() {
        let c = |e: OciDistributionError| classify(&e, "r.io/a:1", "r.io", 5, false);
        assert_eq!(
            c(OciDistributionError::ServerError {
                code: 404,
                url: "u".into(),
                message: "m".into()
            }),
            ResolveError::NotFound {
                reference: "r.io/a:1".into()
            }
        );
        assert_eq!(
            c(OciDistributionError::UnauthorizedError { url: "u".into() }),
            ResolveError::Unauthorized {
                registry: "r.io".into()
            }
        );
        let envelope: oci_client::errors::OciEnvelope = serde_json::from_str(
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        )
        .unwrap();
        assert!(matches!(
            c(OciDistributionError::RegistryError {
                envelope,
                url: "u".into()
            }),
            ResolveError::NotFound { .. }
        ));
        let envelope: oci_client::errors::OciEnvelope =
            serde_json::from_str(r#"{"errors":[{"code":"MANIFEST_INVALID","message":"x"}]}"#)
                .unwrap();
        assert_eq!(
            c(OciDistributionError::RegistryError {
                envelope,
                url: "u".into()
            })
            .to_string(),
            "cannot resolve r.io/a:1: registry r.io answered MANIFEST_INVALID"
        );
    }
}
