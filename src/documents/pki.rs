//! Keys and certificates for signing: the installation's own CA (created once, for clinics
//! without ICP-Brasil certificates and for demos), certificates it issues to professionals
//! (keyUsage digitalSignature + nonRepudiation, as PAdES validators demand), and imported
//! PKCS#12 (ICP-Brasil A1) files. Everything here is CPU-bound and runs on the signer pool.

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::rand_core::{OsRng, RngCore};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// RSA modulus size of every key this installation creates.
pub const KEY_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("wrong password or not a PKCS#12 file")]
    BadPkcs12,
    #[error("the PKCS#12 file holds no private key with its certificate")]
    NoKey,
    #[error("only RSA keys are supported")]
    NotRsa,
    #[error("the certificate does not match the private key")]
    KeyMismatch,
    #[error("the certificate is expired or not yet valid")]
    Expired,
    #[error(
        "the certificate may not sign documents (keyUsage lacks digitalSignature/nonRepudiation)"
    )]
    KeyUsage,
    #[error("{0}")]
    Internal(String),
}

fn internal(e: impl std::fmt::Display) -> PkiError {
    PkiError::Internal(e.to_string())
}

/// A private key and its certificate chain (signer first), ready to sign.
pub struct KeyMaterial {
    pub key: RsaPrivateKey,
    /// The same key for `ring`, which signs documents (constant-time, about three times the
    /// `rsa` crate's speed); `None` for a key `ring` does not take (under 2048 or over 8192
    /// bits), which the `rsa` crate signs instead.
    fast: Option<ring::signature::RsaKeyPair>,
    pub chain: Vec<Certificate>,
}

impl KeyMaterial {
    /// Parse stored material: a PKCS#8 key and DER certificates, signer first.
    pub fn from_der(pkcs8: &[u8], chain: &[Vec<u8>]) -> Result<Self, PkiError> {
        let key = RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|_| PkiError::NotRsa)?;
        let fast = ring::signature::RsaKeyPair::from_pkcs8(pkcs8).ok();
        let chain = chain
            .iter()
            .map(|c| Certificate::from_der(c).map_err(internal))
            .collect::<Result<Vec<_>, _>>()?;
        if chain.is_empty() {
            return Err(PkiError::NoKey);
        }
        Ok(Self { key, fast, chain })
    }

    /// An RSASSA-PKCS1-v1_5 signature over SHA-256 of `message`: through `ring` when it
    /// holds the key, else the `rsa` crate (blinded).
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        match &self.fast {
            Some(pair) => {
                let mut signature = vec![0; pair.public().modulus_len()];
                pair.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(internal)?;
                Ok(signature)
            }
            None => {
                use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _};
                let signer = SigningKey::<Sha256>::new(self.key.clone());
                Ok(signer.sign_with_rng(&mut OsRng, message).to_vec())
            }
        }
    }

    /// Whether documents are signed through `ring` (see [`Self::sign_sha256`]).
    pub fn signs_with_ring(&self) -> bool {
        self.fast.is_some()
    }

    pub fn certificate(&self) -> &Certificate {
        &self.chain[0]
    }

    /// The subject's common name ("assinado digitalmente por …").
    pub fn holder_name(&self) -> String {
        common_name(&self.chain[0].tbs_certificate.subject).unwrap_or_default()
    }
}

/// Summary of a certificate for people.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: chrono::DateTime<chrono::Utc>,
    pub not_after: chrono::DateTime<chrono::Utc>,
}

pub fn cert_info(cert: &Certificate) -> CertInfo {
    let tbs = &cert.tbs_certificate;
    let ts = |t: &x509_cert::time::Time| {
        chrono::DateTime::from_timestamp(t.to_unix_duration().as_secs() as i64, 0)
            .unwrap_or_default()
    };
    CertInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        serial: hex::encode(tbs.serial_number.as_bytes()),
        not_before: ts(&tbs.validity.not_before),
        not_after: ts(&tbs.validity.not_after),
    }
}

pub fn common_name(name: &Name) -> Option<String> {
    let cn = der::oid::db::rfc4519::CN;
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|atv| {
        (atv.oid == cn).then(|| {
            der::asn1::Utf8StringRef::try_from(&atv.value)
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    der::asn1::PrintableStringRef::try_from(&atv.value)
                        .map(|s| s.as_str().to_string())
                })
                .unwrap_or_default()
        })
    })
}

/// A distinguished-name value with the characters RFC 4514 would need escaped removed.
fn dn_value(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ',' | '+' | '=' | '"' | '\\' | '<' | '>' | ';' | '#'))
        .collect::<String>()
        .trim()
        .to_string()
}

fn serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).map_err(internal)
}

fn spki(key: &RsaPrivateKey) -> Result<SubjectPublicKeyInfoOwned, PkiError> {
    let der = RsaPublicKey::from(key)
        .to_public_key_der()
        .map_err(internal)?;
    SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).map_err(internal)
}

/// A new self-signed CA: (PKCS#8 key, DER certificate). Valid for ten years from `now`.
pub fn generate_ca(common_name: &str, now: SystemTime) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
    let key = RsaPrivateKey::new(&mut OsRng, KEY_BITS).map_err(internal)?;
    let subject = format!("CN={},O=atende", dn_value(common_name));
    certify(&key, &key, Profile::Root, &subject, now, 10)
}

/// A new key and a certificate for `holder` signed by `ca` (valid three years from `now`):
/// (PKCS#8 key, DER certificate).
pub fn issue_signing_cert(
    ca: &KeyMaterial,
    holder: &str,
    registration: &str,
    now: SystemTime,
) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
    let key = RsaPrivateKey::new(&mut OsRng, KEY_BITS).map_err(internal)?;
    let subject = format!(
        "CN={},OU={},O=atende",
        dn_value(holder),
        dn_value(registration)
    );
    let profile = Profile::Leaf {
        issuer: ca.certificate().tbs_certificate.subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    certify(&key, &ca.key, profile, &subject, now, 3)
}

/// A certificate for `key`'s public half, signed by `issuer` (blinded signature):
/// (PKCS#8 of `key`, DER certificate).
fn certify(
    key: &RsaPrivateKey,
    issuer: &RsaPrivateKey,
    profile: Profile,
    subject: &str,
    now: SystemTime,
    years: u64,
) -> Result<(Vec<u8>, Vec<u8>), PkiError> {
    let signer = SigningKey::<Sha256>::new(issuer.clone());
    let validity = Validity {
        not_before: Time::try_from(now).map_err(internal)?,
        not_after: Time::try_from(now + Duration::from_secs(years * 365 * 86_400))
            .map_err(internal)?,
    };
    let cert = CertificateBuilder::new(
        profile,
        serial()?,
        validity,
        Name::from_str(subject).map_err(internal)?,
        spki(key)?,
        &signer,
    )
    .map_err(internal)?
    .build_with_rng::<rsa::pkcs1v15::Signature>(&mut OsRng)
    .map_err(internal)?;
    Ok((
        key.to_pkcs8_der().map_err(internal)?.as_bytes().to_vec(),
        cert.to_der().map_err(internal)?,
    ))
}

/// An imported PKCS#12 file, checked: (PKCS#8 key, DER chain with the signer first).
pub fn import_pkcs12(
    data: &[u8],
    password: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>), PkiError> {
    let store = p12_keystore::KeyStore::from_pkcs12(
        data,
        password,
        p12_keystore::Pkcs12ImportPolicy::Relaxed,
    )
    .map_err(|_| PkiError::BadPkcs12)?;
    let (_, chain) = store.private_key_chain().ok_or(PkiError::NoKey)?;
    let pkcs8 = chain.key().as_der().to_vec();
    let key = RsaPrivateKey::from_pkcs8_der(&pkcs8).map_err(|_| PkiError::NotRsa)?;
    let certs: Vec<Vec<u8>> = chain.certs().iter().map(|c| c.as_der().to_vec()).collect();
    // The signer is the certificate whose public key is ours; put it first.
    let mut parsed = certs
        .iter()
        .map(|c| Certificate::from_der(c).map_err(internal))
        .collect::<Result<Vec<_>, _>>()?;
    let public = RsaPublicKey::from(&key);
    let mine = parsed
        .iter()
        .position(|c| {
            c.tbs_certificate
                .subject_public_key_info
                .to_der()
                .ok()
                .and_then(|d| {
                    rsa::pkcs8::DecodePublicKey::from_public_key_der(&d)
                        .ok()
                        .map(|k: RsaPublicKey| k.n() == public.n() && k.e() == public.e())
                })
                .unwrap_or(false)
        })
        .ok_or(PkiError::KeyMismatch)?;
    let signer = parsed.remove(mine);
    let validity = &signer.tbs_certificate.validity;
    let now_secs = now.timestamp().max(0) as u64;
    if validity.not_before.to_unix_duration().as_secs() > now_secs
        || validity.not_after.to_unix_duration().as_secs() < now_secs
    {
        return Err(PkiError::Expired);
    }
    if !may_sign(&signer) {
        return Err(PkiError::KeyUsage);
    }
    let mut out = vec![signer.to_der().map_err(internal)?];
    for c in parsed {
        out.push(c.to_der().map_err(internal)?);
    }
    Ok((pkcs8, out))
}

/// Whether a certificate's keyUsage (when present) allows signing documents.
fn may_sign(cert: &Certificate) -> bool {
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
    let Some(exts) = &cert.tbs_certificate.extensions else {
        return true;
    };
    let ku_oid = der::oid::db::rfc5280::ID_CE_KEY_USAGE;
    match exts.iter().find(|e| e.extn_id == ku_oid) {
        None => true,
        Some(e) => KeyUsage::from_der(e.extn_value.as_bytes())
            .map(|ku| {
                ku.0.contains(KeyUsages::DigitalSignature)
                    || ku.0.contains(KeyUsages::NonRepudiation)
            })
            .unwrap_or(false),
    }
}

/// PEM of a DER certificate.
pub fn pem(cert_der: &[u8]) -> String {
    pem_block("CERTIFICATE", cert_der)
}

/// A PEM block (`label`: `CERTIFICATE`, `PRIVATE KEY`, …) of DER bytes.
pub fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// DER certificates from a PEM bundle (every `CERTIFICATE` block, in order).
pub fn pem_certificates(pem_text: &str) -> Result<Vec<Vec<u8>>, PkiError> {
    use base64::Engine;
    let mut out = Vec::new();
    let mut body: Option<String> = None;
    for line in pem_text.lines().map(str::trim) {
        match (line, body.as_mut()) {
            ("-----BEGIN CERTIFICATE-----", None) => body = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(b64)) => {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(internal)?;
                Certificate::from_der(&der).map_err(internal)?;
                out.push(der);
                body = None;
            }
            (l, Some(b64)) => b64.push_str(l),
            _ => {}
        }
    }
    Ok(out)
}

/// Whether `chain` (DER, signer first) leads, signature by signature, to one of `roots`
/// (DER): each certificate's issuer is looked for among the chain and the roots by name, and
/// its signature checked with that issuer's key (RSA with SHA-256, -384 or -512, what
/// ICP-Brasil's chains use). An empty `roots` trusts nothing.
pub fn chains_to(chain: &[Vec<u8>], roots: &[Vec<u8>]) -> bool {
    if roots.is_empty() || chain.is_empty() {
        return false;
    }
    let parse = |d: &Vec<u8>| Certificate::from_der(d).ok().map(|c| (d.clone(), c));
    let roots: Vec<(Vec<u8>, Certificate)> = roots.iter().filter_map(parse).collect();
    let chain: Vec<(Vec<u8>, Certificate)> = chain.iter().filter_map(parse).collect();
    let Some(mut current) = chain.first().cloned() else {
        return false;
    };
    // A chain longer than this is not one a CA issues; it also ends any loop.
    for _ in 0..8 {
        if roots.iter().any(|(der, _)| *der == current.0) {
            return true;
        }
        let issuer = &current.1.tbs_certificate.issuer;
        let next = roots
            .iter()
            .chain(chain.iter())
            .filter(|(der, c)| c.tbs_certificate.subject == *issuer && *der != current.0)
            .find(|(_, c)| signed_by(&current.1, c));
        match next {
            Some(n) => current = n.clone(),
            None => return false,
        }
    }
    false
}

/// Whether `issuer`'s public key verifies `cert`'s signature.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    use rsa::pkcs1v15::{Signature, VerifyingKey};
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    let Ok(spki) = issuer.tbs_certificate.subject_public_key_info.to_der() else {
        return false;
    };
    let Ok(key) = RsaPublicKey::from_public_key_der(&spki) else {
        return false;
    };
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    let Some(sig) = cert.signature.as_bytes() else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig) else {
        return false;
    };
    match cert.signature_algorithm.oid.to_string().as_str() {
        "1.2.840.113549.1.1.11" => VerifyingKey::<Sha256>::new(key).verify(&tbs, &sig).is_ok(),
        "1.2.840.113549.1.1.12" => VerifyingKey::<sha2::Sha384>::new(key)
            .verify(&tbs, &sig)
            .is_ok(),
        "1.2.840.113549.1.1.13" => VerifyingKey::<sha2::Sha512>::new(key)
            .verify(&tbs, &sig)
            .is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn a_certificate_chains_to_its_own_root_and_to_no_other() {
        let (root_key, root_cert) =
            generate_ca("AC Raiz de Teste", SystemTime::now()).expect("root");
        let root = KeyMaterial::from_der(&root_key, std::slice::from_ref(&root_cert)).expect("m");
        let (_, leaf) =
            issue_signing_cert(&root, "Fulana", "CRM 1/SP", SystemTime::now()).expect("leaf");
        let (_, other_root) = generate_ca("AC Raiz de Teste", SystemTime::now()).expect("other");
        let chain = vec![leaf.clone(), root_cert.clone()];
        assert!(chains_to(&chain, std::slice::from_ref(&root_cert)));
        assert!(chains_to(
            std::slice::from_ref(&leaf),
            std::slice::from_ref(&root_cert)
        ));
        // Same name, another key: the signature decides, not the name.
        assert!(!chains_to(&chain, std::slice::from_ref(&other_root)));
        assert!(!chains_to(&chain, &[]));
        let pem_text = format!("{}{}", pem(&other_root), pem(&root_cert));
        assert_eq!(
            pem_certificates(&pem_text).expect("pem"),
            vec![other_root, root_cert]
        );
    }
}

#[cfg(test)]
mod signature_tests {
    use rsa::pkcs1v15::VerifyingKey;
    use rsa::signature::{RandomizedSigner as _, SignatureEncoding as _, Verifier as _};

    use super::*;

    fn material(bits: usize) -> KeyMaterial {
        let key = RsaPrivateKey::new(&mut OsRng, bits).expect("key");
        let pkcs8 = key.to_pkcs8_der().expect("pkcs8").as_bytes().to_vec();
        let (_, cert) = generate_ca("Chave de Teste", SystemTime::now()).expect("cert");
        KeyMaterial::from_der(&pkcs8, &[cert]).expect("material")
    }

    /// PKCS#1 v1.5 is deterministic: ring must give the very bytes the `rsa` crate gives,
    /// and they verify under the public key.
    #[test]
    fn ring_signs_exactly_as_the_rsa_crate_and_small_keys_fall_back_to_it() {
        let m = material(KEY_BITS);
        assert!(m.signs_with_ring());
        let message = b"atributos assinados";
        let ours = m.sign_sha256(message).expect("sign");
        let theirs = SigningKey::<Sha256>::new(m.key.clone())
            .sign_with_rng(&mut OsRng, message)
            .to_vec();
        assert_eq!(ours, theirs);
        let verifier = VerifyingKey::<Sha256>::new(m.key.to_public_key());
        let sig = rsa::pkcs1v15::Signature::try_from(ours.as_slice()).expect("signature");
        assert!(verifier.verify(message, &sig).is_ok());

        // ring refuses keys under 2048 bits; such an imported key still signs.
        let small = material(1024);
        assert!(!small.signs_with_ring());
        let sig = small.sign_sha256(message).expect("sign");
        let verifier = VerifyingKey::<Sha256>::new(small.key.to_public_key());
        let sig = rsa::pkcs1v15::Signature::try_from(sig.as_slice()).expect("signature");
        assert!(verifier.verify(message, &sig).is_ok());
    }
}
