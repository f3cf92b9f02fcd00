//! Registry credentials from the Docker config (`config.json`).
//!
//! The file is `DIR/config.json`, where `DIR` is the explicit directory
//! ([`super::RegistryOptions::docker_config`]), else `$DOCKER_CONFIG`, else `~/.docker`.
//! Lookup is done by the `docker_credential` crate, which covers:
//! - `auths` entries with a base64 `auth` (`user:password`) or `username`/`password` fields,
//!   keyed by `host[:port]` or by a URL (`https://host/v1/`);
//! - `credHelpers` (per registry) and `credsStore` (default): these run
//!   `docker-credential-NAME get`, as the Docker CLI does. A helper answering "credentials not
//!   found" means anonymous access; any other helper failure is an error that names the
//!   registry but never repeats the helper's output (it may hold secrets).
//!
//! Docker Hub (`docker.io`) is looked up under the key the Docker CLI writes,
//! `https://index.docker.io/v1/`, then under its other spellings (`docker.io`,
//! `index.docker.io`, `registry-1.docker.io`).
//!
//! A missing file or a registry without an entry means anonymous access. An `identitytoken`
//! (an OAuth refresh token, as Azure's registry issues) is not supported: such a registry
//! is tried anonymously. A file that is not valid JSON, or an `auth` that is
//! not base64 of `user:password`, is an error naming the file.

use std::path::{Path, PathBuf};

use super::distribution::Auth;
use docker_credential::{CredentialRetrievalError, DockerCredential};

/// The key the Docker CLI stores Docker Hub credentials under.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The Docker config directory: `explicit`, else `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("DOCKER_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|h| h.join(".docker")))
    })
}

/// A loaded Docker config file (its raw bytes; parsed on each lookup by `docker_credential`).
/// Deliberately not `Debug`: the bytes hold credentials.
pub(crate) struct DockerConfig {
    path: PathBuf,
    /// `None` when there is no config file.
    bytes: Option<Vec<u8>>,
}

impl DockerConfig {
    /// Reads `DIR/config.json`; a missing file (or no home directory) is not an error.
    pub(crate) fn load(dir: Option<&Path>) -> Result<Self, String> {
        let Some(dir) = docker_config_dir(dir) else {
            return Ok(Self {
                path: PathBuf::from("config.json"),
                bytes: None,
            });
        };
        let path = dir.join("config.json");
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Self {
                path,
                bytes: Some(bytes),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self { path, bytes: None }),
            Err(e) => Err(format!("cannot read Docker config {}: {e}", path.display())),
        }
    }

    /// The credentials for `registry` (`host[:port]`, `docker.io` for Docker Hub).
    ///
    /// Blocking: a credential helper may run. The error message never holds a credential.
    pub(crate) fn auth_for(&self, registry: &str) -> Result<Auth, String> {
        let Some(bytes) = &self.bytes else {
            return Ok(Auth::Anonymous);
        };
        let keys: &[&str] = if registry == "docker.io" {
            &[DOCKER_HUB_KEY, "docker.io"]
        } else {
            &[registry]
        };
        for key in keys {
            match docker_credential::get_credential_from_reader(bytes.as_slice(), key) {
                Ok(DockerCredential::UsernamePassword(user, password)) => {
                    return Ok(Auth::Basic { user, password });
                }
                Ok(DockerCredential::IdentityToken(_)) => return Ok(Auth::Anonymous),
                Err(CredentialRetrievalError::NoCredentialConfigured) => continue,
                Err(e) => return self.lookup_error(registry, e),
            }
        }
        Ok(Auth::Anonymous)
    }

    fn lookup_error(&self, registry: &str, e: CredentialRetrievalError) -> Result<Auth, String> {
        let path = self.path.display();
        Err(match e {
            CredentialRetrievalError::HelperFailure { stdout, stderr, .. }
                if stdout.contains("credentials not found")
                    || stderr.contains("credentials not found") =>
            {
                return Ok(Auth::Anonymous);
            }
            CredentialRetrievalError::HelperFailure { helper, .. } => {
                format!("credential helper {helper} failed for {registry} (from {path})")
            }
            CredentialRetrievalError::HelperCommunicationError => {
                format!("cannot run the credential helper for {registry} named in {path}")
            }
            CredentialRetrievalError::MalformedHelperResponse => {
                format!(
                    "the credential helper for {registry} named in {path} gave a malformed answer"
                )
            }
            CredentialRetrievalError::CredentialDecodingError => {
                format!("the `auth` entry for {registry} in {path} is not base64 of user:password")
            }
            CredentialRetrievalError::CredentialMismatchError => format!(
                "the `auth` and `username`/`password` entries for {registry} in {path} disagree"
            ),
            CredentialRetrievalError::ConfigReadError => {
                format!("Docker config {path} is not valid JSON")
            }
            CredentialRetrievalError::ConfigNotFound
            | CredentialRetrievalError::NoCredentialConfigured => {
                return Ok(Auth::Anonymous);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> (tempfile::TempDir, DockerConfig) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        let cfg = DockerConfig::load(Some(dir.path())).unwrap();
        (dir, cfg)
    }

    fn basic(user: &str, pass: &str) -> Auth {
        Auth::Basic {
            user: user.into(),
            password: pass.into(),
        }
    }

    #[test]
    fn explicit_dir_wins() {
        let p = Path::new("/some/where");
        assert_eq!(docker_config_dir(Some(p)).as_deref(), Some(p));
    }

    #[test]
    fn auths_base64_and_plain_fields() {
        // dXNlcjpzM2NyZXQ6eA== is base64 of "user:s3cret:x" (a ':' in the password is kept).
        let (_d, cfg) = config(
            r#"{"auths": {
                "127.0.0.1:5000": {"auth": "dXNlcjpzM2NyZXQ6eA=="},
                "https://reg.example.com": {"username": "bob", "password": "pw"},
                "unpadded.example": {"auth": "dTpw"},
                "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"}
            }}"#,
        );
        assert_eq!(
            cfg.auth_for("127.0.0.1:5000").unwrap(),
            basic("user", "s3cret:x")
        );
        assert_eq!(cfg.auth_for("reg.example.com").unwrap(), basic("bob", "pw"));
        assert_eq!(cfg.auth_for("unpadded.example").unwrap(), basic("u", "p"));
        assert_eq!(cfg.auth_for("docker.io").unwrap(), basic("hub", "hubpw"));
        assert_eq!(cfg.auth_for("127.0.0.1:5001").unwrap(), Auth::Anonymous);
        assert_eq!(cfg.auth_for("ghcr.io").unwrap(), Auth::Anonymous);
    }

    #[test]
    fn docker_hub_other_spellings() {
        let (_d, cfg) = config(r#"{"auths": {"registry-1.docker.io": {"auth": "aHViOmh1YnB3"}}}"#);
        assert_eq!(cfg.auth_for("docker.io").unwrap(), basic("hub", "hubpw"));
    }

    #[test]
    fn missing_file_or_entry_is_anonymous() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DockerConfig::load(Some(dir.path())).unwrap();
        assert_eq!(cfg.auth_for("ghcr.io").unwrap(), Auth::Anonymous);
        let (_d, cfg) = config("{}");
        assert_eq!(cfg.auth_for("ghcr.io").unwrap(), Auth::Anonymous);
        let (_d, cfg) = config(r#"{"auths": {"ghcr.io": {"identitytoken": "tok"}}}"#);
        assert_eq!(cfg.auth_for("ghcr.io").unwrap(), Auth::Anonymous);
    }

    #[test]
    fn bad_files_name_the_file_and_leak_nothing() {
        let (d, cfg) = config("{not json");
        let err = cfg.auth_for("ghcr.io").unwrap_err();
        assert!(
            err.contains(&d.path().join("config.json").display().to_string()),
            "{err}"
        );
        assert!(err.contains("not valid JSON"), "{err}");

        // "topsecret" without a ':' → not user:password.
        let (_d, cfg) = config(r#"{"auths": {"ghcr.io": {"auth": "dG9wc2VjcmV0"}}}"#);
        let err = cfg.auth_for("ghcr.io").unwrap_err();
        assert!(err.contains("ghcr.io") && err.contains("base64"), "{err}");
        assert!(
            !err.contains("topsecret") && !err.contains("dG9wc2VjcmV0"),
            "{err}"
        );

        let (_d, cfg) = config(
            r#"{"auths": {"ghcr.io": {"auth": "dTpw", "username": "u", "password": "other"}}}"#,
        );
        let err = cfg.auth_for("ghcr.io").unwrap_err();
        assert!(err.contains("disagree") && !err.contains("other"), "{err}");
    }

    #[test]
    fn missing_helper_is_an_error_without_output() {
        let (_d, cfg) =
            config(r#"{"credHelpers": {"ghcr.io": "secfix-test-no-such-helper"}, "auths": {}}"#);
        let err = cfg.auth_for("ghcr.io").unwrap_err();
        assert!(
            err.contains("credential helper") && err.contains("ghcr.io"),
            "{err}"
        );
        // Other registries are not affected by a per-registry helper.
        assert_eq!(cfg.auth_for("quay.io").unwrap(), Auth::Anonymous);
    }
}
