//! The signature inside the PDF: PAdES baseline B-B. The rendered document gets an AcroForm
//! with one signature field whose `/V` is a `/Sig` dictionary (`/SubFilter
//! /ETSI.CAdES.detached`, `/M`, a fixed-width `/ByteRange` and a zero-filled `/Contents`);
//! the file is written once, the byte range patched in place, and the CMS SignedData over the
//! two ranges (SHA-256, RSA PKCS#1 v1.5 with blinding, signed attributes content-type,
//! message-digest and signing-certificate-v2, no signing-time, the chain included) is written
//! into `/Contents` as hex. Facts behind each choice: `../shared/SIGNED-PDF.md`.

use chrono::{DateTime, Utc};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Encode, Sequence};
use lopdf::{Dictionary, Object, StringFormat};
use sha2::{Digest, Sha256};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::pki::KeyMaterial;

/// Bytes reserved for the DER CMS (twice that in hex) beyond the certificates it carries:
/// attributes, signature and structure take about 700 bytes with RSA-2048.
const CMS_OVERHEAD: usize = 2_048;
const BYTE_RANGE_PLACEHOLDER: i64 = 9_999_999_999;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
pub(crate) const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
pub(crate) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

#[derive(Debug, thiserror::Error)]
pub enum PadesError {
    #[error("pdf: {0}")]
    Pdf(String),
    #[error("cms: {0}")]
    Cms(String),
}

fn pdf_err(e: impl std::fmt::Display) -> PadesError {
    PadesError::Pdf(e.to_string())
}

fn cms_err(e: impl std::fmt::Display) -> PadesError {
    PadesError::Cms(e.to_string())
}

/// What the signature dictionary and the document's metadata say.
#[derive(Debug, Clone)]
pub struct SignatureMeta {
    pub signer_name: String,
    pub reason: String,
    pub location: String,
    pub time: DateTime<Utc>,
    /// ITI validator metadata: (OID, value) pairs written into the Info dictionary.
    pub iti: Vec<(String, String)>,
}

/// Add the signature field and `meta` to `doc` and sign it with `key`: the finished PDF.
pub fn sign(
    mut doc: lopdf::Document,
    meta: &SignatureMeta,
    key: &KeyMaterial,
) -> Result<Vec<u8>, PadesError> {
    // Room for the CMS: the chain it carries plus the rest, rounded up.
    let reserved = (key
        .chain
        .iter()
        .map(|c| c.to_der().map_or(4096, |d| d.len()))
        .sum::<usize>()
        + CMS_OVERHEAD)
        .next_multiple_of(1024);
    prepare(&mut doc, meta, reserved)?;
    let mut bytes = Vec::with_capacity(32 * 1024 + 2 * reserved);
    doc.save_to(&mut bytes).map_err(pdf_err)?;
    let (a, b) = patch_byte_range(&mut bytes, reserved)?;
    let mut hasher = Sha256::new();
    hasher.update(&bytes[..a]);
    hasher.update(&bytes[b..]);
    let digest = hasher.finalize();
    let cms = signed_data(&digest, key)?;
    if cms.len() > reserved {
        return Err(PadesError::Cms(format!(
            "signature of {} bytes does not fit the {reserved} reserved",
            cms.len()
        )));
    }
    let hex = hex::encode_upper(&cms);
    bytes[a + 1..a + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(bytes)
}

fn prepare(
    doc: &mut lopdf::Document,
    meta: &SignatureMeta,
    reserved: usize,
) -> Result<(), PadesError> {
    let catalog_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(pdf_err)?;
    let first_page = *doc
        .get_pages()
        .values()
        .next()
        .ok_or_else(|| PadesError::Pdf("no pages".into()))?;
    let mut sig = Dictionary::new();
    sig.set("Type", Object::Name(b"Sig".to_vec()));
    sig.set("Filter", Object::Name(b"Adobe.PPKLite".to_vec()));
    sig.set("SubFilter", Object::Name(b"ETSI.CAdES.detached".to_vec()));
    sig.set(
        "ByteRange",
        Object::Array(vec![
            Object::Integer(0),
            Object::Integer(BYTE_RANGE_PLACEHOLDER),
            Object::Integer(BYTE_RANGE_PLACEHOLDER),
            Object::Integer(BYTE_RANGE_PLACEHOLDER),
        ]),
    );
    sig.set(
        "Contents",
        Object::String(vec![0u8; reserved], StringFormat::Hexadecimal),
    );
    sig.set(
        "M",
        Object::String(
            meta.time.format("D:%Y%m%d%H%M%SZ").to_string().into_bytes(),
            StringFormat::Literal,
        ),
    );
    sig.set("Name", text_string(&meta.signer_name));
    sig.set("Reason", text_string(&meta.reason));
    sig.set("Location", text_string(&meta.location));
    let sig_id = doc.add_object(Object::Dictionary(sig));

    let mut field = Dictionary::new();
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set(
        "T",
        Object::String(b"Signature1".to_vec(), StringFormat::Literal),
    );
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set(
        "Rect",
        Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
    );
    field.set("F", Object::Integer(132));
    field.set("P", Object::Reference(first_page));
    field.set("V", Object::Reference(sig_id));
    let field_id = doc.add_object(Object::Dictionary(field));

    let page = doc
        .get_object_mut(first_page)
        .and_then(Object::as_dict_mut)
        .map_err(pdf_err)?;
    match page.get_mut(b"Annots") {
        Ok(Object::Array(a)) => a.push(Object::Reference(field_id)),
        _ => page.set("Annots", Object::Array(vec![Object::Reference(field_id)])),
    }

    let mut acroform = Dictionary::new();
    acroform.set("Fields", Object::Array(vec![Object::Reference(field_id)]));
    acroform.set("SigFlags", Object::Integer(3));
    doc.get_object_mut(catalog_id)
        .and_then(Object::as_dict_mut)
        .map_err(pdf_err)?
        .set("AcroForm", Object::Dictionary(acroform));

    if let Ok(info_id) = doc.trailer.get(b"Info").and_then(Object::as_reference)
        && let Ok(info) = doc.get_object_mut(info_id).and_then(Object::as_dict_mut)
    {
        for (k, v) in &meta.iti {
            info.set(k.as_bytes().to_vec(), text_string(v));
        }
    }
    Ok(())
}

/// A PDF text string: PDFDocEncoding when ASCII, UTF-16BE with a BOM otherwise.
fn text_string(s: &str) -> Object {
    if s.is_ascii() {
        Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
    } else {
        let mut b = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_be_bytes());
        }
        Object::String(b, StringFormat::Hexadecimal)
    }
}

/// Find the zero-filled `/Contents` and write the real `/ByteRange` over its placeholder
/// (same width, padded with spaces). Returns the hex string's span `[a, b)` including `<>`.
fn patch_byte_range(bytes: &mut [u8], reserved: usize) -> Result<(usize, usize), PadesError> {
    let zeros = reserved * 2;
    let a = find_contents(bytes, zeros).ok_or_else(|| PadesError::Pdf("no /Contents".into()))?;
    let b = a + zeros + 2;
    let len = bytes.len();
    let start =
        find(bytes, b"/ByteRange").ok_or_else(|| PadesError::Pdf("no /ByteRange".into()))?;
    let open = start
        + find(&bytes[start..], b"[").ok_or_else(|| PadesError::Pdf("bad /ByteRange".into()))?;
    let close = open
        + find(&bytes[open..], b"]").ok_or_else(|| PadesError::Pdf("bad /ByteRange".into()))?;
    let value = format!("0 {a} {b} {}", len - b);
    let room = close - open - 1;
    if value.len() > room {
        return Err(PadesError::Pdf("byte range does not fit".into()));
    }
    let padded = format!("{value:<room$}");
    bytes[open + 1..close].copy_from_slice(padded.as_bytes());
    Ok((a, b))
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Position of the `<` that opens a hex string of exactly `zeros` `0`s.
fn find_contents(bytes: &[u8], zeros: usize) -> Option<usize> {
    let mut i = 0;
    while i + zeros + 2 <= bytes.len() {
        if bytes[i] == b'<' {
            let body = &bytes[i + 1..i + 1 + zeros];
            if body.iter().all(|&c| c == b'0') && bytes[i + 1 + zeros] == b'>' {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

#[derive(Sequence)]
struct EssCertIdV2 {
    // hashAlgorithm is DEFAULT sha256 and therefore omitted.
    cert_hash: OctetString,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, PadesError> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(cms_err)?;
    Ok(Attribute { oid, values })
}

/// The DER CMS SignedData (PAdES B-B) over `digest`.
pub fn signed_data(digest: &[u8], key: &KeyMaterial) -> Result<Vec<u8>, PadesError> {
    let cert = key.certificate();
    let cert_der = cert.to_der().map_err(cms_err)?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(&cert_der).to_vec()).map_err(cms_err)?,
        }],
    };
    let mut attrs = SetOfVec::new();
    attrs
        .insert(attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(cms_err)?,
        )?)
        .map_err(cms_err)?;
    attrs
        .insert(attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec()).map_err(cms_err)?)
                .map_err(cms_err)?,
        )?)
        .map_err(cms_err)?;
    attrs
        .insert(attribute(
            ID_SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(cms_err)?,
        )?)
        .map_err(cms_err)?;
    // The signature covers the attributes' DER as a SET (tag 0x31), not as [0] IMPLICIT.
    let to_sign = attrs.to_der().map_err(cms_err)?;
    let signature = key.sign_sha256(&to_sign).map_err(cms_err)?;

    let sha256 = AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature).map_err(cms_err)?,
        unsigned_attrs: None,
    };
    let mut certs = SetOfVec::new();
    for c in &key.chain {
        certs
            .insert(CertificateChoices::Certificate(c.clone()))
            .map_err(cms_err)?;
    }
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256).map_err(cms_err)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(cms_err)?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(certs)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(cms_err)?,
    };
    ci.to_der().map_err(cms_err)
}
