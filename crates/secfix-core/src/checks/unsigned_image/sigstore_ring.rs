//! The cryptography `sigstore-verify` runs on, without aws-lc-rs (a C build): a
//! `sigstore_crypto::CryptoProvider` over `ring` (already in the tree through rustls) for
//! digests and signatures over whole messages, and RustCrypto `p256`/`p384` for ECDSA over a
//! digest (a bundle's `messageSignature` names its artifact only by digest, and ring verifies
//! whole messages only). Verification only: it signs nothing.
//!
//! Not supported, and reported as an unsupported algorithm (the signature then does not
//! count): RSA or Ed25519 over a bare digest (ring cannot, and Ed25519 never signs digests),
//! and ML-DSA.
//!
//! [`install`] registers the provider once per process; every bundle verification calls it
//! first.

use ring::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use sigstore_verify::crypto::{CryptoProvider, Error, HashContext, Result, SigningScheme};
use sigstore_verify::types::HashAlgorithm;

/// The ring + RustCrypto provider.
#[derive(Debug)]
pub struct RingProvider;

static PROVIDER: RingProvider = RingProvider;

/// Makes [`RingProvider`] the process's Sigstore crypto provider (once; later calls do
/// nothing). Another provider installed first stays in place.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = sigstore_verify::crypto::install_default_provider(&PROVIDER);
    });
}

struct Hash(ring::digest::Context);

impl HashContext for Hash {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finalize(self: Box<Self>) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
}

fn digest_algorithm(algorithm: HashAlgorithm) -> Result<&'static ring::digest::Algorithm> {
    match algorithm {
        HashAlgorithm::Sha2256 => Ok(&ring::digest::SHA256),
        HashAlgorithm::Sha2384 => Ok(&ring::digest::SHA384),
        HashAlgorithm::Sha2512 => Ok(&ring::digest::SHA512),
        other => Err(Error::UnsupportedAlgorithm(format!(
            "cannot compute {other} digests"
        ))),
    }
}

/// ring's algorithm for a scheme over a whole message.
fn ring_algorithm(scheme: SigningScheme) -> Option<&'static dyn VerificationAlgorithm> {
    Some(match scheme {
        SigningScheme::EcdsaP256Sha256 => &sig::ECDSA_P256_SHA256_ASN1,
        SigningScheme::EcdsaP256Sha384 => &sig::ECDSA_P256_SHA384_ASN1,
        SigningScheme::EcdsaP384Sha256 => &sig::ECDSA_P384_SHA256_ASN1,
        SigningScheme::EcdsaP384Sha384 => &sig::ECDSA_P384_SHA384_ASN1,
        SigningScheme::Ed25519 => &sig::ED25519,
        SigningScheme::RsaPssSha256 => &sig::RSA_PSS_2048_8192_SHA256,
        SigningScheme::RsaPssSha384 => &sig::RSA_PSS_2048_8192_SHA384,
        SigningScheme::RsaPssSha512 => &sig::RSA_PSS_2048_8192_SHA512,
        SigningScheme::RsaPkcs1Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
        SigningScheme::RsaPkcs1Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
        SigningScheme::RsaPkcs1Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}

fn invalid(scheme: SigningScheme) -> Error {
    Error::Verification(format!("{} signature invalid", scheme.name()))
}

/// ECDSA (ASN.1 DER signature) over a digest, with the SEC1 point `key`.
pub fn verify_ecdsa_prehashed(
    scheme: SigningScheme,
    key: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<()> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier as _;
    let ok = match scheme {
        SigningScheme::EcdsaP256Sha256 | SigningScheme::EcdsaP256Sha384 => {
            let k = p256::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|_| Error::InvalidKey("not a P-256 point".into()))?;
            let s = p256::ecdsa::Signature::from_der(signature).map_err(|_| invalid(scheme))?;
            k.verify_prehash(digest, &s).is_ok()
        }
        SigningScheme::EcdsaP384Sha256 | SigningScheme::EcdsaP384Sha384 => {
            let k = p384::ecdsa::VerifyingKey::from_sec1_bytes(key)
                .map_err(|_| Error::InvalidKey("not a P-384 point".into()))?;
            let s = p384::ecdsa::Signature::from_der(signature).map_err(|_| invalid(scheme))?;
            k.verify_prehash(digest, &s).is_ok()
        }
        other => {
            return Err(Error::UnsupportedAlgorithm(format!(
                "{} over a digest is not supported (only ECDSA is)",
                other.name()
            )));
        }
    };
    if ok { Ok(()) } else { Err(invalid(scheme)) }
}

impl CryptoProvider for RingProvider {
    fn hash(&self, algorithm: HashAlgorithm) -> Result<Box<dyn HashContext>> {
        Ok(Box::new(Hash(ring::digest::Context::new(
            digest_algorithm(algorithm)?,
        ))))
    }

    fn verify_raw(
        &self,
        scheme: SigningScheme,
        spki_pubkey_bytes: &[u8],
        data: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let alg = ring_algorithm(scheme).ok_or_else(|| {
            Error::UnsupportedAlgorithm(format!("{} is not supported", scheme.name()))
        })?;
        UnparsedPublicKey::new(alg, spki_pubkey_bytes)
            .verify(data, signature)
            .map_err(|_| invalid(scheme))
    }

    fn verify_prehashed(
        &self,
        scheme: SigningScheme,
        spki_pubkey_bytes: &[u8],
        digest: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        verify_ecdsa_prehashed(scheme, spki_pubkey_bytes, digest, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signature made with ring over a message verifies over the message (ring) and over
    /// its digest (p256), and not over another digest.
    #[test]
    fn ecdsa_verifies_over_the_message_and_over_its_digest() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let pair = sig::EcdsaKeyPair::from_pkcs8(
            &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            pkcs8.as_ref(),
            &rng,
        )
        .unwrap();
        use ring::signature::KeyPair as _;
        let key = pair.public_key().as_ref().to_vec();
        let message = b"an image manifest";
        let signature = pair.sign(&rng, message).unwrap();
        let s = SigningScheme::EcdsaP256Sha256;
        RingProvider
            .verify_raw(s, &key, message, signature.as_ref())
            .unwrap();
        let digest = ring::digest::digest(&ring::digest::SHA256, message);
        RingProvider
            .verify_prehashed(s, &key, digest.as_ref(), signature.as_ref())
            .unwrap();
        let other = ring::digest::digest(&ring::digest::SHA256, b"another manifest");
        assert!(
            RingProvider
                .verify_prehashed(s, &key, other.as_ref(), signature.as_ref())
                .is_err()
        );
        assert!(
            RingProvider
                .verify_raw(s, &key, b"another", signature.as_ref())
                .is_err()
        );
        assert!(matches!(
            RingProvider.verify_prehashed(SigningScheme::Ed25519, &key, digest.as_ref(), b""),
            Err(Error::UnsupportedAlgorithm(_))
        ));
        assert_eq!(
            RingProvider.sha256(message).as_slice(),
            digest.as_ref(),
            "the provider's digest is ring's"
        );
    }
}
