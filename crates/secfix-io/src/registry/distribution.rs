//! The two or three OCI distribution API requests a digest lookup needs, with hard bounds.
//!
//! `oci-client` (used before) reads every answer whole into memory and follows any token
//! realm with the user's credentials, so a hostile registry could stream gigabytes or collect
//! a password over plain HTTP. This module speaks the small part of the protocol the resolver
//! needs over `reqwest` and bounds everything:
//!
//! - **Bodies** are read chunk by chunk and never past a cap: [`MAX_MANIFEST_BYTES`] for a
//!   manifest (hashed while it streams), [`MAX_TOKEN_BYTES`] for a token answer,
//!   [`MAX_ERROR_BYTES`] for an error body. A `Content-Length` over the cap is refused before
//!   any of the body is read.
//! - **Auth** starts anonymous. A `401` with `WWW-Authenticate: Basic` is answered with the
//!   Docker config's credentials for that registry; `Bearer realm=…` fetches a pull token from
//!   the realm. Credentials go to a realm only over HTTPS, or over plain HTTP to the very
//!   host and port of the registry itself (see [`may_send_credentials`]); a realm over plain
//!   HTTP is contacted at all only when its host may be reached over plain HTTP (loopback or
//!   `--insecure-registry`), like any registry.
//! - **Redirects** are followed at most [`MAX_REDIRECTS`] times, never from HTTPS to a plain
//!   HTTP host that is not allowed; `reqwest` drops `Authorization` when a redirect changes
//!   scheme, host or port.
//! - **Time**: each request has the connect and read timeout; the caller caps a whole lookup.

use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};
use sha2::{Digest as _, Sha256};

use super::plain_http::plain_http_allowed;
use super::{MANIFEST_MEDIA_TYPES, ResolveError};
use secfix_core::model::ImageRef;

/// The largest manifest read (the distribution spec lets registries refuse manifests over
/// 4 MiB, and containerd reads no more).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// The largest token answer read.
pub(crate) const MAX_TOKEN_BYTES: u64 = 1024 * 1024;
/// The largest error body read (only its OCI error codes are used).
pub(crate) const MAX_ERROR_BYTES: u64 = 64 * 1024;
/// Redirects followed per request.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// Credentials for one registry. Deliberately not `Debug`-printable with the password.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    Anonymous,
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Anonymous => f.write_str("Anonymous"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, <redacted>)"),
        }
    }
}

/// The host the API requests of `registry` go to: Docker Hub's API is
/// `registry-1.docker.io`; every other registry is its own.
pub(crate) fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

/// `http` for registries that may be reached over plain HTTP, else `https`.
fn scheme_for(host: &str, insecure: &[String]) -> &'static str {
    if plain_http_allowed(host, insecure) {
        "http"
    } else {
        "https"
    }
}

/// `host[:port]` of a URL, as an image reference writes a registry (`host_str` keeps the
/// brackets of an IPv6 literal).
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// What answers a challenge. Not `Debug`: it holds a credential or a token.
#[derive(Clone)]
enum Authorization {
    Basic(String, String),
    Bearer(String),
}

impl Authorization {
    fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Authorization::Basic(user, password) => req.basic_auth(user, Some(password)),
            Authorization::Bearer(token) => req.bearer_auth(token),
        }
    }
}

/// Whether a URL may be contacted: HTTPS anywhere, plain HTTP only to hosts that may be
/// reached over plain HTTP.
pub(crate) fn may_contact(url: &Url, insecure: &[String]) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => plain_http_allowed(&authority(url), insecure),
        _ => false,
    }
}

/// Whether the registry's credentials may be sent to the token realm `realm` of `registry_url`
/// (the URL the challenge came from): over HTTPS, or over plain HTTP only to the same scheme,
/// host and port as the registry (which the user already allowed plain HTTP for). Never to
/// another host over plain HTTP, whatever the names.
pub(crate) fn may_send_credentials(registry_url: &Url, realm: &Url) -> bool {
    match realm.scheme() {
        "https" => true,
        "http" => {
            registry_url.scheme() == "http"
                && registry_url.host_str() == realm.host_str()
                && registry_url.port_or_known_default() == realm.port_or_known_default()
        }
        _ => false,
    }
}

/// A `reqwest` client with the resolver's timeouts and redirect rules.
pub fn client(
    timeout: Duration,
    insecure: &[String],
    user_agent: &str,
) -> Result<reqwest::Client, String> {
    let allowed = insecure.to_vec();
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if !may_contact(attempt.url(), &allowed) {
            attempt.error("redirected to plain HTTP")
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .redirect(policy)
        .user_agent(user_agent)
        .build()
        .map_err(|e| format!("cannot set up the registry client: {e}"))
}

/// A parsed `WWW-Authenticate` challenge the resolver can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// The first challenge of `headers` the resolver can answer (Bearer preferred over Basic),
/// parsed by `http-auth`.
pub fn challenge(headers: &HeaderMap) -> Option<Challenge> {
    let mut basic = false;
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else { continue };
        let Ok(challenges) = http_auth::parse_challenges(text) else {
            continue;
        };
        for c in challenges {
            let param = |name: &str| {
                c.params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_unescaped())
            };
            if c.scheme.eq_ignore_ascii_case("bearer") {
                if let Some(realm) = param("realm") {
                    return Some(Challenge::Bearer {
                        realm,
                        service: param("service"),
                        scope: param("scope"),
                    });
                }
            } else if c.scheme.eq_ignore_ascii_case("basic") {
                basic = true;
            }
        }
    }
    basic.then_some(Challenge::Basic)
}

/// Why reading a body stopped.
enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

/// Reads `res`'s body into `sink`, chunk by chunk, refusing more than `cap` bytes (a larger
/// `Content-Length` is refused before anything is read).
async fn read_capped(
    res: &mut Response,
    cap: u64,
    mut sink: impl FnMut(&[u8]),
) -> Result<u64, BodyError> {
    if res.content_length().is_some_and(|len| len > cap) {
        return Err(BodyError::TooLarge);
    }
    let mut total: u64 = 0;
    while let Some(chunk) = res.chunk().await.map_err(BodyError::Transport)? {
        total = total.saturating_add(chunk.len() as u64);
        if total > cap {
            return Err(BodyError::TooLarge);
        }
        sink(&chunk);
    }
    Ok(total)
}

/// A body of at most `cap` bytes, or `None` when it is larger or breaks off.
async fn small_body(res: &mut Response, cap: u64) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    read_capped(res, cap, |c| buf.extend_from_slice(c))
        .await
        .ok()
        .map(|_| buf)
}

/// The authorization won by the first request of a lookup of several requests
/// ([`Lookup::fetch`]). Not `Debug`: it holds a credential or a token.
#[derive(Default)]
pub(crate) struct Session {
    authorization: Option<Authorization>,
}

/// One lookup: what it needs to know and how it maps transport errors.
pub(crate) struct Lookup<'a> {
    pub client: &'a reqwest::Client,
    pub image: &'a ImageRef,
    /// The key of the reference ([`super::resolve_key`]), for messages.
    pub key: &'a str,
    pub auth: &'a Auth,
    pub insecure: &'a [String],
    /// Maps a transport error to the resolver's error.
    pub transport: &'a (dyn Fn(&reqwest::Error) -> ResolveError + Sync),
}

impl Lookup<'_> {
    fn other(&self, reason: impl Into<String>) -> ResolveError {
        ResolveError::Other {
            reference: self.key.to_string(),
            reason: reason.into(),
        }
    }

    fn unauthorized(&self) -> ResolveError {
        ResolveError::Unauthorized {
            registry: self.image.registry.clone(),
        }
    }

    /// The manifest URL of the reference's tag (a digest in the reference is ignored).
    fn manifest_url(&self) -> Result<Url, ResolveError> {
        let host = api_host(&self.image.registry);
        let url = format!(
            "{}://{host}/v2/{}/manifests/{}",
            scheme_for(&self.image.registry, self.insecure),
            self.image.repository,
            self.image.effective_tag()
        );
        Url::parse(&url).map_err(|_| self.other("cannot form the registry URL"))
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        authorization: Option<&Authorization>,
    ) -> Result<Response, ResolveError> {
        let mut req = self
            .client
            .request(method, url.clone())
            .header(ACCEPT, MANIFEST_MEDIA_TYPES.join(", "));
        if let Some(a) = authorization {
            req = a.apply(req);
        }
        req.send().await.map_err(|e| (self.transport)(&e))
    }

    /// The URL of `/v2/<repository>/<path>` on the reference's registry.
    fn api_url(&self, path: &str) -> Result<Url, ResolveError> {
        let host = api_host(&self.image.registry);
        let url = format!(
            "{}://{host}/v2/{}/{path}",
            scheme_for(&self.image.registry, self.insecure),
            self.image.repository,
        );
        Url::parse(&url).map_err(|_| self.other("cannot form the registry URL"))
    }

    /// GETs `/v2/<repository>/<path>` (a manifest by tag or digest, a blob, the referrers
    /// list) and reads at most `cap` bytes of it: `Ok(None)` when the registry answers 404.
    /// A `401` is answered once and the answer kept in `session` for the next requests of
    /// the same lookup. When `expect` (a `sha256:` digest) is given, the body must hash to it.
    pub(crate) async fn fetch(
        &self,
        session: &mut Session,
        path: &str,
        cap: u64,
        expect: Option<&str>,
    ) -> Result<Option<Vec<u8>>, ResolveError> {
        let url = self.api_url(path)?;
        let mut res = self
            .send(Method::GET, &url, session.authorization.as_ref())
            .await?;
        if res.status() == StatusCode::UNAUTHORIZED {
            let authorization = self.authorize(&url, res.headers()).await?;
            res = self.send(Method::GET, &url, Some(&authorization)).await?;
            session.authorization = Some(authorization);
        }
        let status = res.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = small_body(&mut res, MAX_ERROR_BYTES).await;
            return Err(self.status_error(status, body.as_deref()));
        }
        let mut body = Vec::new();
        let mut hasher = Sha256::new();
        match read_capped(&mut res, cap, |c| {
            hasher.update(c);
            body.extend_from_slice(c);
        })
        .await
        {
            Ok(_) => {}
            Err(BodyError::TooLarge) => {
                return Err(self.other(format!("{path} is larger than {cap} bytes")));
            }
            Err(BodyError::Transport(e)) => return Err((self.transport)(&e)),
        }
        if let Some(want) = expect {
            let hex: String = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if want != format!("sha256:{hex}") {
                return Err(self.other(format!("{path} does not match its digest")));
            }
        }
        Ok(Some(body))
    }

    /// The `sha256:` digest the reference's tag points at.
    pub(crate) async fn digest(&self) -> Result<String, ResolveError> {
        let url = self.manifest_url()?;
        let mut authorization = None;
        let mut res = self.send(Method::HEAD, &url, None).await?;
        if res.status() == StatusCode::UNAUTHORIZED {
            authorization = Some(self.authorize(&url, res.headers()).await?);
            res = self
                .send(Method::HEAD, &url, authorization.as_ref())
                .await?;
        }
        match res.status() {
            s if s.is_success() => {}
            s => return Err(self.status_error(s, None)),
        }
        if let Some(d) = header_digest(res.headers()) {
            return Ok(d);
        }
        // No usable digest header: the digest is the sha256 of the manifest body.
        let mut res = self.send(Method::GET, &url, authorization.as_ref()).await?;
        if !res.status().is_success() {
            let status = res.status();
            let body = small_body(&mut res, MAX_ERROR_BYTES).await;
            return Err(self.status_error(status, body.as_deref()));
        }
        let claimed = header_digest(res.headers());
        let mut hasher = Sha256::new();
        match read_capped(&mut res, MAX_MANIFEST_BYTES, |c| hasher.update(c)).await {
            Ok(_) => {}
            Err(BodyError::TooLarge) => {
                return Err(self.other(format!(
                    "the manifest is larger than {} MiB",
                    MAX_MANIFEST_BYTES / (1024 * 1024)
                )));
            }
            Err(BodyError::Transport(e)) => return Err((self.transport)(&e)),
        }
        let hex: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let digest = format!("sha256:{hex}");
        match claimed {
            Some(c) if c != digest => Err(self.other(format!(
                "the manifest does not match its digest (the registry claims {c}, the body is {digest})"
            ))),
            _ => Ok(digest),
        }
    }

    /// The `Authorization` header that answers the registry's challenge.
    async fn authorize(
        &self,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<Authorization, ResolveError> {
        match challenge(headers) {
            Some(Challenge::Basic) => match self.auth {
                Auth::Basic { user, password } => {
                    Ok(Authorization::Basic(user.clone(), password.clone()))
                }
                Auth::Anonymous => Err(self.unauthorized()),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => self.token(url, &realm, service, scope).await,
            None => Err(self.unauthorized()),
        }
    }

    /// A pull token from the realm of a Bearer challenge.
    async fn token(
        &self,
        registry_url: &Url,
        realm: &str,
        service: Option<String>,
        scope: Option<String>,
    ) -> Result<Authorization, ResolveError> {
        let Ok(mut realm_url) = Url::parse(realm) else {
            return Err(self.other("the registry's token realm is not a URL"));
        };
        if !may_contact(&realm_url, self.insecure) {
            let host = authority(&realm_url);
            return Err(self.other(format!(
                "the registry's token service {host} is plain HTTP; allow it with --insecure-registry {host}"
            )));
        }
        let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", self.image.repository));
        {
            let mut q = realm_url.query_pairs_mut();
            q.append_pair("scope", &scope);
            if let Some(s) = &service {
                q.append_pair("service", s);
            }
        }
        let withheld = matches!(self.auth, Auth::Basic { .. })
            && !may_send_credentials(registry_url, &realm_url);
        let mut req = self.client.get(realm_url);
        if let Auth::Basic { user, password } = self.auth
            && !withheld
        {
            req = req.basic_auth(user, Some(password));
        }
        let mut res = req.send().await.map_err(|e| (self.transport)(&e))?;
        let refused = |this: &Self| {
            if withheld {
                this.other(
                    "the registry's token service is plain HTTP on another host: credentials were not sent to it, and it refused anonymous access",
                )
            } else {
                this.unauthorized()
            }
        };
        match res.status() {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => return Err(refused(self)),
            s => return Err(self.other(format!("the token service answered HTTP {}", s.as_u16()))),
        }
        let body = small_body(&mut res, MAX_TOKEN_BYTES)
            .await
            .ok_or_else(|| self.other("the token service's answer is too large or broke off"))?;
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| self.other("the token service's answer is not a token"))?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic()))
            .map(Authorization::Bearer)
            .ok_or_else(|| self.other("the token service's answer is not a token"))
    }

    /// The error for a non-success answer; `body` (capped) may hold OCI error codes.
    fn status_error(&self, status: StatusCode, body: Option<&[u8]>) -> ResolveError {
        let registry = &self.image.registry;
        let not_found = || ResolveError::NotFound {
            reference: self.key.to_string(),
        };
        let codes = body.map(error_codes).unwrap_or_default();
        let has = |c: &str| codes.iter().any(|x| x == c);
        if has("MANIFEST_UNKNOWN") || has("NAME_UNKNOWN") || has("NOT_FOUND") {
            return not_found();
        }
        if has("UNAUTHORIZED") || has("DENIED") {
            return self.unauthorized();
        }
        if has("TOOMANYREQUESTS") {
            return self.other(format!("rate limited by registry {registry}"));
        }
        match status.as_u16() {
            404 => not_found(),
            401 | 403 => self.unauthorized(),
            429 => self.other(format!("rate limited by registry {registry}")),
            _ if !codes.is_empty() => {
                self.other(format!("registry {registry} answered {}", codes.join(", ")))
            }
            c => self.other(format!("registry {registry} answered HTTP {c}")),
        }
    }
}

/// A `Docker-Content-Digest` header that is a well-formed sha256 digest.
fn header_digest(headers: &HeaderMap) -> Option<String> {
    headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|d| secfix_core::model::image_ref::is_sha256_digest(d))
        .map(str::to_string)
}

/// The `code`s of an OCI error envelope (`{"errors": [{"code": "MANIFEST_UNKNOWN", …}]}`),
/// only those made of `A-Z` and `_` (a body is never echoed).
fn error_codes(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(default)]
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
    }
    serde_json::from_slice::<Envelope>(body)
        .map(|e| {
            e.errors
                .into_iter()
                .filter_map(|x| x.code)
                .filter(|c| {
                    !c.is_empty()
                        && c.len() <= 64
                        && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(WWW_AUTHENTICATE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// covers issue #15 (item 12): Basic credentials never go to a Bearer realm on another
    /// host over plain HTTP.
    #[test]
    fn credentials_go_to_a_plain_http_realm_only_on_the_registry_itself() {
        let reg = url("http://127.0.0.1:5000/v2/a/manifests/b");
        assert!(may_send_credentials(
            &reg,
            &url("http://127.0.0.1:5000/token")
        ));
        assert!(may_send_credentials(
            &reg,
            &url("https://auth.example.com/token")
        ));
        for other in [
            "http://localhost:5000/token",
            "http://127.0.0.1:5001/token",
            "http://auth.example.com/token",
            "http://[::1]:5000/token",
            "ftp://127.0.0.1:5000/token",
        ] {
            assert!(!may_send_credentials(&reg, &url(other)), "{other}");
        }
        // A registry reached over HTTPS never hands its credentials to plain HTTP.
        let tls = url("https://reg.example.com/v2/a/manifests/b");
        assert!(!may_send_credentials(
            &tls,
            &url("http://reg.example.com/token")
        ));
        assert!(!may_send_credentials(
            &tls,
            &url("http://reg.example.com:443/token")
        ));
    }

    #[test]
    fn plain_http_is_contacted_only_where_allowed() {
        assert!(may_contact(&url("https://auth.docker.io/token"), &[]));
        assert!(may_contact(&url("http://127.0.0.1:9/token"), &[]));
        assert!(may_contact(&url("http://[::1]:9/token"), &[]));
        assert!(!may_contact(&url("http://auth.example.com/token"), &[]));
        assert!(may_contact(
            &url("http://auth.example.com/token"),
            &["auth.example.com".to_string()]
        ));
        assert!(!may_contact(&url("file:///etc/passwd"), &[]));
    }

    #[test]
    fn challenges_are_parsed() {
        assert_eq!(
            challenge(&headers(&[
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
            ])),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
        assert_eq!(
            challenge(&headers(&[r#"Basic realm="test""#])),
            Some(Challenge::Basic)
        );
        assert_eq!(
            challenge(&headers(&[r#"Basic realm="x", Bearer realm="http://r/t""#])),
            Some(Challenge::Bearer {
                realm: "http://r/t".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(challenge(&headers(&["Negotiate"])), None);
        assert_eq!(challenge(&headers(&["Bearer service=\"x\""])), None);
        assert_eq!(challenge(&headers(&["=garbage,,"])), None);
    }

    #[test]
    fn docker_hub_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("ghcr.io"), "ghcr.io");
        assert_eq!(api_host("localhost:5000"), "localhost:5000");
    }

    #[test]
    fn error_codes_are_read_but_never_echoed() {
        assert_eq!(
            error_codes(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"m"},{"code":"secret value"}]}"#),
            ["MANIFEST_UNKNOWN"]
        );
        assert!(error_codes(b"<html>").is_empty());
    }

    #[test]
    fn credentials_are_not_debug_printed() {
        let a = Auth::Basic {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{a:?}").contains("hunter2"));
    }
}
