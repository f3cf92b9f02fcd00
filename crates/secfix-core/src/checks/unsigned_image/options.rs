//! The check's options: the trust policy of `--signature-key` and the keyless flags.

use super::sigstore::{KeylessPolicy, TrustedRoot};
use super::{TrustPolicy, TrustedKey};
use crate::checks::ScanOptions;
use crate::checks::options::{CheckOptions, FileLimit, Flag, Takes, Value};

/// What the flags say, and the trust policy they make ([`Options::policy`]).
#[derive(Debug, Clone, Default)]
pub struct Options {
    keys: Vec<TrustedKey>,
    identity: Option<String>,
    identity_regexp: Option<regex::Regex>,
    issuer: Option<String>,
    root: Option<TrustedRoot>,
    policy: Option<TrustPolicy>,
}

impl Options {
    /// The keys image signatures must verify with; `None`: no policy, the check does not
    /// run, and no pin is vetted.
    pub fn policy(&self) -> Option<&TrustPolicy> {
        self.policy.as_ref()
    }

    /// Options with this policy (tests).
    pub fn with_policy(policy: Option<TrustPolicy>) -> Self {
        Options {
            policy,
            ..Options::default()
        }
    }
}

/// The trust policy of `opts`, if any.
pub(super) fn policy(opts: &ScanOptions) -> Option<&TrustPolicy> {
    opts.options.unsigned_image.policy()
}

/// The keyless flags that name who signed; the others need one of them.
const IDENTITY: &str = "keyless-identity";

impl CheckOptions for Options {
    const FLAGS: &'static [Flag] = &[
        Flag {
            long: "signature-key",
            value_name: "PATH",
            help: "Public key (PEM, as `cosign generate-key-pair` writes `cosign.pub`: ECDSA \
                   P-256/P-384, Ed25519 or RSA) image signatures must verify with. Repeatable: \
                   any one key suffices. Turns on the unsigned-image check, and \
                   `mutable-image-tag` then pins only signed digests; a namespace's \
                   `secfix.dev/signature-keys` annotation narrows the keys",
            takes: Takes::Repeated,
            file: Some(FileLimit {
                max_bytes: 64 * 1024,
                what: "a public key file",
            }),
            group: None,
            requires: &[],
        },
        Flag {
            long: "certificate-identity",
            value_name: "IDENTITY",
            help: "Keyless signatures: the identity (the certificate's email or URI) a signature \
                   may come from, as `cosign verify --certificate-identity`. Needs \
                   --certificate-oidc-issuer and --trusted-root; turns on the unsigned-image \
                   check like --signature-key",
            takes: Takes::Once,
            file: None,
            group: Some(IDENTITY),
            requires: &["certificate-oidc-issuer", "trusted-root"],
        },
        Flag {
            long: "certificate-identity-regexp",
            value_name: "REGEXP",
            help: "Like --certificate-identity, as a regular expression (unanchored, as \
                   cosign's)",
            takes: Takes::Once,
            file: None,
            group: Some(IDENTITY),
            requires: &["certificate-oidc-issuer", "trusted-root"],
        },
        Flag {
            long: "certificate-oidc-issuer",
            value_name: "URL",
            help: "Keyless signatures: the OIDC issuer the certificate must name \
                   (e.g. `https://token.actions.githubusercontent.com`)",
            takes: Takes::Once,
            file: None,
            group: None,
            requires: &[IDENTITY],
        },
        Flag {
            long: "trusted-root",
            value_name: "FILE",
            help: "Keyless signatures: a Sigstore `trusted_root.json` (Fulcio certificate \
                   authorities, Rekor keys). Verification is offline, against this file only",
            takes: Takes::Once,
            file: Some(FileLimit {
                max_bytes: 4 * 1024 * 1024,
                what: "a trusted root file",
            }),
            group: None,
            requires: &[IDENTITY],
        },
    ];

    fn set(&mut self, flag: &str, value: Value<'_>) -> Result<(), String> {
        match (flag, value) {
            ("signature-key", Value::File { path, bytes }) => {
                let key = TrustedKey::from_pem(path, bytes).map_err(|e| format!("{path}: {e}"))?;
                self.keys.push(key);
            }
            ("trusted-root", Value::File { path, bytes }) => {
                let root = TrustedRoot::from_json(bytes).map_err(|e| format!("{path}: {e}"))?;
                self.root = Some(root);
            }
            ("certificate-identity", v) => self.identity = Some(v.text().to_string()),
            ("certificate-identity-regexp", v) => {
                let re = regex::Regex::new(v.text()).map_err(|e| e.to_string())?;
                self.identity_regexp = Some(re);
            }
            ("certificate-oidc-issuer", v) => self.issuer = Some(v.text().to_string()),
            (other, _) => return Err(format!("no such option: --{other}")),
        }
        Ok(())
    }

    /// The policy: the keys, and the keyless identity when its flags came together (the
    /// binary has checked that they did).
    fn finish(&mut self) -> Result<(), String> {
        let keyless = match (&self.root, &self.issuer) {
            (Some(root), Some(issuer))
                if self.identity.is_some() || self.identity_regexp.is_some() =>
            {
                Some(KeylessPolicy {
                    root: root.clone(),
                    identity: self.identity.clone(),
                    identity_regexp: self.identity_regexp.clone(),
                    issuer: issuer.clone(),
                })
            }
            _ => None,
        };
        self.policy = TrustPolicy::with_keyless(self.keys.clone(), keyless);
        Ok(())
    }
}
