//! Signatures added to one of our signed files afterwards: a pharmacist's, a counter-signing
//! professional's. PDF adds them as an incremental update appended to the file, so the
//! bytes atende signed stay a prefix of the new file, and the update holds new objects and
//! new versions of a few old ones. That is "the original intact, with further signatures"
//! only when every change is one a signature needs (ISO 32000-1 §12.8, DocMDP level 2):
//! the signature's field, widget and dictionary, the form and the page's annotation list
//! gaining them, the catalog gaining a form or validation data. Anything else (a changed
//! content stream, a new annotation that is not a signature's, another page) is a change
//! to what was signed.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::Encode as _;
use der::asn1::OctetString;
use lopdf::{Dictionary, Document, Object};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey as _;
use rsa::signature::Verifier as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::pades::{ID_MESSAGE_DIGEST, ID_SHA256, find};
use super::pki::common_name;

/// A signature found in the update, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AddedSignature {
    /// The signer's name (the certificate's common name; empty when it has none).
    pub signer: String,
    /// Whether the signature verifies over exactly the bytes it covers (RSA with SHA-256;
    /// any other algorithm is reported unverified, not refused).
    pub verified: bool,
}

/// What the appended update does.
#[derive(Debug, PartialEq, Eq)]
pub enum Update {
    /// Only what signatures need: the signatures it adds.
    Signatures(Vec<AddedSignature>),
    /// A change to what was signed, said for the log.
    Changed(String),
}

/// The length of the file's first signed revision: where the first `/ByteRange` (ours,
/// the first signature in the file) ends. `None` for a file without one.
pub fn first_revision_len(file: &[u8]) -> Option<usize> {
    let at = find(file, b"/ByteRange")?;
    let [a, b, c, d] = byte_range(&file[at + b"/ByteRange".len()..])?;
    (a == 0 && b <= c).then_some(c.checked_add(d)?)
}

/// `[a b c d]` at the start of `s` (after blanks).
fn byte_range(s: &[u8]) -> Option<[usize; 4]> {
    let text = std::str::from_utf8(s.get(..s.len().min(120))?).ok()?;
    let inner = text.trim_start().strip_prefix('[')?;
    let inner = &inner[..inner.find(']')?];
    let n: Vec<usize> = inner
        .split_ascii_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    n.try_into().ok()
}

/// What the bytes after `original_len` (the first revision, ours) do to the document.
pub fn update_after(file: &[u8], original_len: usize) -> Update {
    let (Some(head), true) = (file.get(..original_len), original_len < file.len()) else {
        return Update::Changed("nothing appended".into());
    };
    let (Ok(before), Ok(after)) = (Document::load_mem(head), Document::load_mem(file)) else {
        return Update::Changed("unreadable".into());
    };
    // The document information dictionary and the XMP metadata (producer, dates) are not
    // what a reader sees: signing tools update them.
    let metadata: Vec<lopdf::ObjectId> = [
        after.trailer.get(b"Info").ok(),
        after.catalog().ok().and_then(|c| c.get(b"Metadata").ok()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|o| o.as_reference().ok())
    .collect();
    for (id, now) in &after.objects {
        let verdict = match before.objects.get(id) {
            Some(was) if was == now => continue,
            _ if metadata.contains(id) => continue,
            Some(was) => allowed_change(was, now),
            None => allowed_new(&after, now),
        };
        if let Err(why) = verdict {
            return Update::Changed(format!("object {} {}: {why}", id.0, id.1));
        }
    }
    let mut added = Vec::new();
    for (id, obj) in &after.objects {
        if before.objects.get(id) == Some(obj) {
            continue;
        }
        if let Some(sig) = obj.as_dict().ok().and_then(|d| signature(file, d)) {
            added.push(sig);
        }
    }
    if added.is_empty() {
        return Update::Changed("an update that adds no signature".into());
    }
    Update::Signatures(added)
}

fn name_of<'a>(d: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    d.get(key).ok()?.as_name().ok()
}

/// A dictionary of a signature, its field or its widget.
fn is_signature_part(d: &Dictionary) -> bool {
    matches!(name_of(d, b"Type"), Some(b"Sig" | b"DocTimeStamp"))
        || name_of(d, b"FT") == Some(b"Sig")
}

/// A new object: anything but a page, or an annotation that is not a signature's widget
/// (new fonts, appearance streams and validation data are harmless until a changed
/// object points the document at them, and changed objects are checked).
fn allowed_new(doc: &Document, obj: &Object) -> Result<(), String> {
    let Ok(d) = obj.as_dict().or_else(|_| obj.as_stream().map(|s| &s.dict)) else {
        return Ok(());
    };
    if name_of(d, b"Type") == Some(b"Page") {
        return Err("a new page".into());
    }
    let annotation = name_of(d, b"Type") == Some(b"Annot") || d.has(b"Rect");
    if annotation && !(name_of(d, b"Subtype") == Some(b"Widget") && widget_of_signature(doc, d)) {
        return Err("a new annotation that is not a signature's".into());
    }
    Ok(())
}

/// A widget of a signature field: a merged field and widget carries `/FT /Sig` itself; a
/// separate widget's `/Parent` must be a signature field (a widget of a text field, say,
/// would draw what it likes on the page).
fn widget_of_signature(doc: &Document, d: &Dictionary) -> bool {
    is_signature_part(d)
        || d.get(b"Parent")
            .and_then(Object::as_reference)
            .and_then(|id| doc.get_dictionary(id))
            .is_ok_and(is_signature_part)
}

/// Which keys of a dictionary differ between two versions.
fn changed_keys(was: &Dictionary, now: &Dictionary) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = was
        .iter()
        .chain(now.iter())
        .map(|(k, _)| k.clone())
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| was.get(k).ok() != now.get(k).ok())
        .collect()
}

/// Whether array `now` keeps every element of `was`, in order, adding only at the end.
fn only_appended(was: &Object, now: &Object) -> bool {
    match (was.as_array(), now.as_array()) {
        (Ok(w), Ok(n)) => n.len() >= w.len() && n[..w.len()] == w[..],
        _ => false,
    }
}

/// A new version of an existing object: only what a signature needs.
fn allowed_change(was: &Object, now: &Object) -> Result<(), String> {
    if was.as_array().is_ok() {
        // An indirect /Annots or /Fields list.
        return if only_appended(was, now) {
            Ok(())
        } else {
            Err("a list that lost or reordered entries".into())
        };
    }
    let (Ok(w), Ok(n)) = (was.as_dict(), now.as_dict()) else {
        return Err("a changed stream or value".into());
    };
    let keys = changed_keys(w, n);
    let only = |allowed: &[&[u8]]| keys.iter().all(|k| allowed.contains(&k.as_slice()));
    // A list that gained entries at its end, or appeared.
    let grew = |key: &[u8]| match (w.get(key), n.get(key)) {
        (Ok(a), Ok(b)) => only_appended(a, b),
        (Err(_), Ok(_)) => true,
        _ => false,
    };
    let fine = match name_of(w, b"Type") {
        Some(b"Catalog") => {
            only(&[b"AcroForm", b"DSS", b"Perms", b"Extensions", b"Version"])
                // A form held in the catalog itself: its own rule.
                && match (w.get(b"AcroForm"), n.get(b"AcroForm")) {
                    (Ok(a @ Object::Dictionary(_)), Ok(b @ Object::Dictionary(_))) => {
                        a == b || allowed_change(a, b).is_ok()
                    }
                    // Moved to an object of its own, or added: fields alone show nothing;
                    // what shows is a page's annotations, checked on the page.
                    _ => true,
                }
        }
        Some(b"Page") => only(&[b"Annots"]) && grew(b"Annots"),
        _ if is_signature_part(w) => true,
        _ if w.has(b"Fields") => only(&[b"Fields", b"SigFlags", b"DR", b"DA"]) && grew(b"Fields"),
        _ => false,
    };
    if fine {
        Ok(())
    } else {
        Err(format!(
            "changed {}",
            keys.iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// A signature dictionary of the update: who signed, and whether it verifies.
fn signature(file: &[u8], d: &Dictionary) -> Option<AddedSignature> {
    if !matches!(name_of(d, b"Type"), Some(b"Sig" | b"DocTimeStamp") | None) {
        return None;
    }
    let range: Vec<usize> = d
        .get(b"ByteRange")
        .ok()?
        .as_array()
        .ok()?
        .iter()
        .map(|o| o.as_i64().ok().and_then(|v| usize::try_from(v).ok()))
        .collect::<Option<_>>()?;
    let contents = match d.get(b"Contents").ok()? {
        Object::String(bytes, _) => bytes,
        _ => return None,
    };
    let covered = match range[..] {
        [0, b, c, e] if b <= c && c.checked_add(e)? <= file.len() => {
            let mut h = Sha256::new();
            h.update(&file[..b]);
            h.update(&file[c..c + e]);
            h.finalize().to_vec()
        }
        _ => {
            return Some(AddedSignature {
                signer: String::new(),
                verified: false,
            });
        }
    };
    Some(verify_cms(contents, &covered).unwrap_or(AddedSignature {
        signer: String::new(),
        verified: false,
    }))
}

/// Open a detached CMS SignedData over `digest`: its signer, and whether the message digest
/// and the RSA signature over the signed attributes hold.
fn verify_cms(contents: &[u8], digest: &[u8]) -> Option<AddedSignature> {
    // `/Contents` is zero-padded after the DER: read one value, ignore the rest.
    let mut reader = der::SliceReader::new(contents).ok()?;
    let info: ContentInfo = der::Decode::decode(&mut reader).ok()?;
    let data: SignedData = info.content.decode_as().ok()?;
    let si = data.signer_infos.0.iter().next()?;
    let SignerIdentifier::IssuerAndSerialNumber(id) = &si.sid else {
        return None;
    };
    let cert = data.certificates.as_ref()?.0.iter().find_map(|c| match c {
        CertificateChoices::Certificate(c)
            if c.tbs_certificate.issuer == id.issuer
                && c.tbs_certificate.serial_number == id.serial_number =>
        {
            Some(c)
        }
        _ => None,
    })?;
    let signer = common_name(&cert.tbs_certificate.subject).unwrap_or_default();
    let verified = (|| {
        if si.digest_alg.oid != ID_SHA256 {
            return None;
        }
        let attrs = si.signed_attrs.as_ref()?;
        let claimed: OctetString = attrs
            .iter()
            .find(|a| a.oid == ID_MESSAGE_DIGEST)?
            .values
            .get(0)?
            .decode_as()
            .ok()?;
        if claimed.as_bytes() != digest {
            return None;
        }
        let spki = cert.tbs_certificate.subject_public_key_info.to_der().ok()?;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki).ok()?;
        let signature = Signature::try_from(si.signature.as_bytes()).ok()?;
        VerifyingKey::<Sha256>::new(key)
            .verify(&attrs.to_der().ok()?, &signature)
            .ok()
    })()
    .is_some();
    Some(AddedSignature { signer, verified })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_revision_ends_where_the_first_byte_range_does() {
        let file = b"%PDF-1.7 ... /ByteRange [0 100 300 50      ] /Contents <00> ... more";
        assert_eq!(first_revision_len(file), Some(350));
        assert_eq!(first_revision_len(b"%PDF-1.7 no signature"), None);
        assert_eq!(first_revision_len(b"/ByteRange [5 1 2 3]"), None);
        assert_eq!(first_revision_len(b"/ByteRange [0 1 2]"), None);
    }

    #[test]
    fn lists_only_grow_and_pages_only_gain_annotations() {
        let r = |n: u32| Object::Reference((n, 0));
        let was = Object::Array(vec![r(1), r(2)]);
        assert!(allowed_change(&was, &Object::Array(vec![r(1), r(2), r(9)])).is_ok());
        assert!(allowed_change(&was, &Object::Array(vec![r(2), r(1), r(9)])).is_err());

        let mut page = Dictionary::new();
        page.set("Type", Object::Name(b"Page".to_vec()));
        page.set("Annots", Object::Array(vec![r(1)]));
        page.set("Contents", r(5));
        let mut signed = page.clone();
        signed.set("Annots", Object::Array(vec![r(1), r(9)]));
        assert!(
            allowed_change(
                &Object::Dictionary(page.clone()),
                &Object::Dictionary(signed)
            )
            .is_ok()
        );
        let mut rewritten = page.clone();
        rewritten.set("Contents", r(6));
        assert!(allowed_change(&Object::Dictionary(page), &Object::Dictionary(rewritten)).is_err());

        let mut note = Dictionary::new();
        note.set("Type", Object::Name(b"Annot".to_vec()));
        note.set("Subtype", Object::Name(b"FreeText".to_vec()));
        note.set("Rect", Object::Array(vec![]));
        let doc = Document::new();
        assert!(allowed_new(&doc, &Object::Dictionary(note)).is_err());
    }

    #[test]
    fn a_new_widget_passes_only_as_a_signature_fields() {
        let mut doc = Document::new();
        let mut field = |ft: &str| {
            let mut f = Dictionary::new();
            f.set("FT", Object::Name(ft.as_bytes().to_vec()));
            f.set("T", Object::string_literal("campo"));
            doc.add_object(f)
        };
        let (sig, text) = (field("Sig"), field("Tx"));
        let widget = |parent: Option<lopdf::ObjectId>| {
            let mut w = Dictionary::new();
            w.set("Type", Object::Name(b"Annot".to_vec()));
            w.set("Subtype", Object::Name(b"Widget".to_vec()));
            w.set("Rect", Object::Array(vec![]));
            if let Some(p) = parent {
                w.set("Parent", Object::Reference(p));
            }
            Object::Dictionary(w)
        };
        assert!(allowed_new(&doc, &widget(Some(sig))).is_ok());
        assert!(allowed_new(&doc, &widget(Some(text))).is_err());
        assert!(allowed_new(&doc, &widget(Some((999, 0)))).is_err());
        assert!(allowed_new(&doc, &widget(None)).is_err());
        let mut merged = widget(None);
        if let Object::Dictionary(d) = &mut merged {
            d.set("FT", Object::Name(b"Sig".to_vec()));
        }
        assert!(allowed_new(&doc, &merged).is_ok());
    }
}
