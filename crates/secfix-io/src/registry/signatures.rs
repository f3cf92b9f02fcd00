//! Fetching cosign signatures of image digests: the registry I/O of `unsigned-image` (the
//! verification itself is pure, in `checks::unsigned_image`).
//!
//! For a digest `sha256:<hex>` in a repository, signatures are looked for in the places
//! cosign writes them:
//! - the classic tag `sha256-<hex>.sig`: a manifest whose layers are simple-signing payloads
//!   (`application/vnd.dev.cosign.simplesigning.v1+json`), each with its signature in the
//!   annotation `dev.cosignproject.cosign/signature`;
//! - OCI 1.1 referrers of the digest: `GET /v2/<repo>/referrers/<digest>`, or, when the
//!   registry has no referrers API (it answers 404, as Debian's docker-registry 2.8 does), the
//!   tag-schema fallback index `sha256-<hex>`. Each listed manifest of artifact type
//!   `application/vnd.dev.cosign.artifact.sig.v1+json` (cosign's
//!   `--registry-referrers-mode=oci-1-1`) is fetched by digest and read like a `.sig`
//!   manifest; each of a Sigstore bundle type (`application/vnd.dev.sigstore.bundle.v0.3+json`,
//!   as cosign v3 and sigstore-js `@sigstore/oci` attach them) is fetched by digest and its
//!   bundle layer read as a [`SignatureSource::Bundle`] (verified by
//!   `checks::unsigned_image::sigstore_bundle`).
//!
//! Every answer is bounded like the digest resolver's (same client, credentials, timeouts and
//! the same per-lookup time budget): manifests and indexes at [`MAX_MANIFEST_BYTES`],
//! payloads at [`MAX_PAYLOAD_BYTES`], at most [`MAX_SIGNATURES`] signatures and
//! [`MAX_REFERRERS`] referrer manifests per digest. Anything fetched by digest (referrer
//! manifests, payload blobs) must hash to that digest. Each distinct `repository@digest` is
//! looked up once, at most `max_concurrent` at a time.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt as _;
use serde::Deserialize;

use super::distribution::{Auth, Lookup, Session};
use super::{
    MAX_MANIFEST_BYTES, ResolveError, Resolver, plain_http_allowed, secs, transport_error,
};
use secfix_core::model::ImageRef;
pub use secfix_core::model::signature::signature_key;
use secfix_core::model::signature::{
    FoundSignature, KeylessMaterial, SignatureSource, is_bundle_media_type,
};

/// The largest signature payload read.
pub const MAX_PAYLOAD_BYTES: u64 = 1024 * 1024;
/// Signatures read per digest, over all places.
pub const MAX_SIGNATURES: usize = 32;
/// Referrer manifests fetched per digest.
pub const MAX_REFERRERS: usize = 32;

/// The annotation holding a layer's signature (base64).
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The keyless annotations: Fulcio certificate, its chain, the Rekor bundle (SET).
const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// The media type of a simple-signing payload layer.
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The artifact type cosign 2.5 (go-containerregistry) lists in a fallback index for the
/// bundles it attaches: the empty config's media type, not the manifest's `artifactType`
/// (the manifest, fetched, tells what it is).
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The artifact type of a cosign signature stored as an OCI 1.1 referrer.
const COSIGN_SIG_ARTIFACT: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(rename = "artifactType")]
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// `sha256-<hex>` for a `sha256:<hex>` digest.
fn tag_of(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

impl Resolver {
    /// Fetches the signatures of every distinct `(image repository, digest)` of `targets`
    /// once, at most `max_concurrent` at a time, and answers per [`signature_key`]: the
    /// signatures found (maybe none) or why the registry could not be asked.
    pub async fn signatures_all(
        &self,
        targets: &[(ImageRef, String)],
    ) -> BTreeMap<String, Result<Vec<FoundSignature>, ResolveError>> {
        let mut jobs: BTreeMap<String, (&ImageRef, &str)> = BTreeMap::new();
        for (image, digest) in targets {
            jobs.entry(signature_key(image, digest))
                .or_insert((image, digest.as_str()));
        }
        if jobs.is_empty() {
            return BTreeMap::new();
        }
        let registries: BTreeSet<&str> = jobs.values().map(|(r, _)| r.registry.as_str()).collect();
        let client = match self.client(&registries) {
            Ok(c) => c,
            Err(reason) => return super::every_key_failed(jobs.into_keys(), &reason),
        };
        let auths = self.credentials(&registries).await;
        let client = &client;
        let auths = &auths;
        let lookups: Vec<_> = jobs
            .into_iter()
            .map(|(key, (image, digest))| async move {
                let result = match super::auth_of(auths, image.registry.as_str(), &key) {
                    Ok(auth) => self.signatures_one(client, image, digest, &key, auth).await,
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

    async fn signatures_one(
        &self,
        client: &reqwest::Client,
        image: &ImageRef,
        digest: &str,
        key: &str,
        auth: &Auth,
    ) -> Result<Vec<FoundSignature>, ResolveError> {
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
        match tokio::time::timeout(budget, find(&lookup, digest)).await {
            Ok(result) => result,
            Err(_) => Err(ResolveError::Timeout {
                registry: registry.to_string(),
                secs: secs(budget),
            }),
        }
    }
}

/// A manifest the registry answered for the signatures of `digest` (`what`): one that is
/// not JSON is an error for the image, never "no signatures" (unsigned).
fn parse_manifest(
    lookup: &Lookup<'_>,
    digest: &str,
    body: &[u8],
    what: &str,
) -> Result<Manifest, ResolveError> {
    serde_json::from_slice::<Manifest>(body).map_err(|e| ResolveError::Other {
        reference: format!("{}@{digest}", lookup.image.full_name()),
        reason: format!("{what} is not an image manifest: {e}"),
    })
}

/// Every signature of `digest` in the lookup's repository.
async fn find(lookup: &Lookup<'_>, digest: &str) -> Result<Vec<FoundSignature>, ResolveError> {
    let mut session = Session::default();
    let mut out = Vec::new();
    let tag = tag_of(digest);
    // The classic `.sig` tag.
    if let Some(body) = lookup
        .fetch(
            &mut session,
            &format!("manifests/{tag}.sig"),
            MAX_MANIFEST_BYTES,
            None,
        )
        .await?
    {
        let m = parse_manifest(lookup, digest, &body, "its .sig manifest")?;
        read_layers(lookup, &mut session, &m, SignatureSource::SigTag, &mut out).await?;
    }
    // OCI 1.1 referrers: the API, else the tag-schema fallback index.
    let index = match lookup
        .fetch(
            &mut session,
            &format!("referrers/{digest}"),
            MAX_MANIFEST_BYTES,
            None,
        )
        .await
    {
        Ok(Some(body)) => Some(body),
        // No referrers API (404, or a registry that refuses the path): the fallback tag.
        Ok(None) | Err(ResolveError::Other { .. } | ResolveError::NotFound { .. }) => {
            lookup
                .fetch(
                    &mut session,
                    &format!("manifests/{tag}"),
                    MAX_MANIFEST_BYTES,
                    None,
                )
                .await?
        }
        Err(e) => return Err(e),
    };
    // An answer that is not an index is an error, never "no signatures" (unsigned).
    let referrers = match index {
        None => Vec::new(),
        Some(b) => {
            serde_json::from_slice::<Index>(&b)
                .map_err(|e| ResolveError::Other {
                    reference: format!("{}@{digest}", lookup.image.full_name()),
                    reason: format!("its referrers index is not an OCI image index: {e}"),
                })?
                .manifests
        }
    };
    for d in referrers
        .iter()
        .filter(|d| {
            d.artifact_type.as_deref().is_none_or(|t| {
                t == COSIGN_SIG_ARTIFACT || t == OCI_EMPTY || is_bundle_media_type(t)
            })
        })
        .filter(|d| secfix_core::model::image_ref::is_sha256_digest(&d.digest))
        .take(MAX_REFERRERS)
    {
        if out.len() >= MAX_SIGNATURES {
            break;
        }
        let Some(body) = lookup
            .fetch(
                &mut session,
                &format!("manifests/{}", d.digest),
                MAX_MANIFEST_BYTES,
                Some(&d.digest),
            )
            .await?
        else {
            continue;
        };
        let m = parse_manifest(lookup, digest, &body, "a referrer's manifest")?;
        let artifact = m
            .artifact_type
            .as_deref()
            .or(m.config.as_ref().map(|c| c.media_type.as_str()));
        if artifact.is_some_and(is_bundle_media_type) {
            read_bundles(lookup, &mut session, &m, &mut out).await?;
            continue;
        }
        if artifact != Some(COSIGN_SIG_ARTIFACT) {
            continue;
        }
        read_layers(
            lookup,
            &mut session,
            &m,
            SignatureSource::Referrer,
            &mut out,
        )
        .await?;
    }
    Ok(out)
}

/// The bundle layers of a Sigstore bundle referrer, fetched (each must hash to its digest).
async fn read_bundles(
    lookup: &Lookup<'_>,
    session: &mut Session,
    m: &Manifest,
    out: &mut Vec<FoundSignature>,
) -> Result<(), ResolveError> {
    for layer in &m.layers {
        if out.len() >= MAX_SIGNATURES {
            break;
        }
        if !is_bundle_media_type(&layer.media_type)
            || !secfix_core::model::image_ref::is_sha256_digest(&layer.digest)
        {
            continue;
        }
        let Some(bundle) = payload_blob(lookup, session, &layer.digest).await? else {
            continue;
        };
        out.push(FoundSignature {
            source: SignatureSource::Bundle,
            payload: bundle,
            signature_b64: String::new(),
            keyless: None,
        });
    }
    Ok(())
}

/// The blob `digest` of a signature layer (a payload or a bundle, at most
/// [`MAX_PAYLOAD_BYTES`], hashing to `digest`), or `None` when the registry has none.
async fn payload_blob(
    lookup: &Lookup<'_>,
    session: &mut Session,
    digest: &str,
) -> Result<Option<Vec<u8>>, ResolveError> {
    let path = format!("blobs/{digest}");
    lookup
        .fetch(session, &path, MAX_PAYLOAD_BYTES, Some(digest))
        .await
}

/// The simple-signing layers of a signature manifest, with their payloads fetched.
async fn read_layers(
    lookup: &Lookup<'_>,
    session: &mut Session,
    m: &Manifest,
    source: SignatureSource,
    out: &mut Vec<FoundSignature>,
) -> Result<(), ResolveError> {
    for layer in &m.layers {
        if out.len() >= MAX_SIGNATURES {
            break;
        }
        let Some(signature) = layer.annotations.get(SIGNATURE_ANNOTATION) else {
            continue;
        };
        if layer.media_type != SIMPLE_SIGNING
            || !secfix_core::model::image_ref::is_sha256_digest(&layer.digest)
        {
            continue;
        }
        let Some(payload) = payload_blob(lookup, session, &layer.digest).await? else {
            continue;
        };
        let annotation = |k: &str| layer.annotations.get(k).cloned();
        let keyless = annotation(CERTIFICATE_ANNOTATION).map(|certificate| KeylessMaterial {
            certificate,
            chain: annotation(CHAIN_ANNOTATION),
            bundle: annotation(BUNDLE_ANNOTATION),
        });
        out.push(FoundSignature {
            source,
            payload,
            signature_b64: signature.clone(),
            keyless,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tags() {
        let hex = "ab".repeat(32);
        let d = format!("sha256:{hex}");
        let image = ImageRef::parse("localhost:5000/team/app:1").unwrap();
        assert_eq!(
            signature_key(&image, &d),
            format!("localhost:5000/team/app@{d}")
        );
        assert_eq!(tag_of(&d), format!("sha256-{hex}"));
    }
}
