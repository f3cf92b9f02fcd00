//! Image signatures as a registry holds them: what the I/O crate fetches for a
//! `repository@digest` and the checks that verify signatures examine. Data only: the
//! verification is the verifying check's (`checks::unsigned_image`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ImageRef;

/// Where a signature was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureSource {
    /// The classic `sha256-<hex>.sig` tag.
    SigTag,
    /// An OCI 1.1 referrer (from the referrers API or the `sha256-<hex>` fallback index).
    Referrer,
    /// A Sigstore bundle found as an OCI 1.1 referrer: [`FoundSignature::payload`] holds the
    /// bundle's JSON (the verifying check's bundle code).
    Bundle,
}

/// A signature as fetched: a simple-signing payload and the signature over it (from the
/// `dev.cosignproject.cosign/signature` annotation, base64 as stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSignature {
    pub source: SignatureSource,
    pub payload: Vec<u8>,
    pub signature_b64: String,
    /// The certificate, chain and Rekor bundle of a keyless signature.
    pub keyless: Option<KeylessMaterial>,
}

/// The keyless annotations of a `.sig` layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeylessMaterial {
    pub certificate: String,
    pub chain: Option<String>,
    pub bundle: Option<String>,
}

/// Whether a media or artifact type is a Sigstore bundle's (any version:
/// `application/vnd.dev.sigstore.bundle.v0.3+json`, or `…bundle+json;version=0.1`).
pub fn is_bundle_media_type(t: &str) -> bool {
    let t = t.split(';').next().unwrap_or(t).trim();
    t.starts_with("application/vnd.dev.sigstore.bundle") && t.ends_with("+json")
}

/// The key of a digest among fetched signatures ([`Fetched`]): `registry/repository@digest`.
pub fn signature_key(image: &ImageRef, digest: &str) -> String {
    format!("{}@{digest}", image.full_name())
}

/// The signatures fetched for each `registry/repository@digest` ([`signature_key`]), or why
/// they could not be read (an error of the run, never "unsigned").
pub type Fetched = BTreeMap<String, Result<Vec<FoundSignature>, String>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_media_types() {
        for t in [
            "application/vnd.dev.sigstore.bundle+json;version=0.1",
            "application/vnd.dev.sigstore.bundle.v0.3+json",
        ] {
            assert!(is_bundle_media_type(t), "{t}");
        }
        assert!(!is_bundle_media_type(
            "application/vnd.dev.cosign.artifact.sig.v1+json"
        ));
    }
}
