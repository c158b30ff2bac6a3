//! A signed file that gains signatures later (a pharmacist's, a counter-signature, added by
//! another tool as an incremental update) is still the document atende signed; a file
//! changed in any other way after the signature is not.

use std::process::Command;

use super::validators::validators_available;
use super::*;
use crate::helpers::*;

/// `pdf` counter-signed by pyHanko as "Farmacêutica Teste", in a new signature field
/// `field`.
fn countersigned(dir: &std::path::Path, pdf: &[u8], field: &str) -> Vec<u8> {
    use atende::documents::pki;
    let now = std::time::SystemTime::now();
    let (root_key, root_cert) = pki::generate_ca("AC Farmácias Teste", now).expect("root");
    let root = pki::KeyMaterial::from_der(&root_key, std::slice::from_ref(&root_cert))
        .expect("root material");
    let (key, cert) =
        pki::issue_signing_cert(&root, "Farmacêutica Teste", "CRF 1234/SP", now).expect("leaf");
    std::fs::write(dir.join("key.pem"), pki::pem_block("PRIVATE KEY", &key)).expect("key");
    std::fs::write(dir.join("cert.pem"), pki::pem(&cert)).expect("cert");
    std::fs::write(dir.join("chain.pem"), pki::pem(&root_cert)).expect("chain");
    std::fs::write(dir.join("in.pdf"), pdf).expect("in");
    let out = Command::new("pyhanko")
        .current_dir(dir)
        .args([
            "sign",
            "addsig",
            "--field",
            &format!("1/40,40,240,90/{field}"),
            "--reason",
            "Dispensado",
            "pemder",
            "--key",
            "key.pem",
            "--cert",
            "cert.pem",
            "--chain",
            "chain.pem",
            "--no-pass",
            "in.pdf",
            "out.pdf",
        ])
        .output()
        .expect("pyhanko");
    assert!(
        out.status.success(),
        "pyhanko: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("out.pdf")).expect("out")
}

/// `pdf` with an incremental update (lopdf) made by `change` to the update's document.
fn updated(pdf: &[u8], change: impl FnOnce(&mut lopdf::IncrementalDocument)) -> Vec<u8> {
    let prev = lopdf::Document::load_mem(pdf).expect("load");
    let mut inc = lopdf::IncrementalDocument::create_from(pdf.to_vec(), prev);
    change(&mut inc);
    let mut out = Vec::new();
    inc.save_to(&mut out).expect("save");
    assert!(
        out.starts_with(pdf),
        "an incremental update keeps the signed bytes"
    );
    out
}

fn first_page(inc: &lopdf::IncrementalDocument) -> lopdf::ObjectId {
    *inc.get_prev_documents()
        .get_pages()
        .values()
        .next()
        .expect("a page")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn signatures_added_later_keep_the_document_intact_and_other_changes_do_not() {
    if !validators_available() {
        return;
    }
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let (id, pdf) = signed_prescription(&app, &d).await;
    let dir = tempfile::tempdir().expect("tmp");

    // The pharmacist's signature, added by pyHanko.
    let two = countersigned(dir.path(), &pdf, "Farmacia");
    let c = check_upload(&app, two.clone()).await;
    assert_eq!(c["intact"], true, "{c}");
    assert_eq!(c["document"]["id"], id.as_str(), "{c}");
    assert_eq!(
        c["further_signatures"],
        json!([{"signer": "Farmacêutica Teste", "verified": true}]),
        "{c}"
    );
    assert!(c["warnings"].to_string().contains("1 assinatura(s)"), "{c}");
    // And a second one on top (a counter-signature of the counter-signature).
    let three = countersigned(dir.path(), &two, "Conferencia");
    let c = check_upload(&app, three).await;
    assert_eq!(c["intact"], true, "{c}");
    assert_eq!(
        c["further_signatures"].as_array().map(Vec::len),
        Some(2),
        "{c}"
    );

    // A later signature whose covered bytes were changed afterwards does not verify.
    let mut forged = two.clone();
    let at = (pdf.len()..forged.len())
        .find(|&i| forged[i..].starts_with(b"/Reason"))
        .expect("the added signature's /Reason");
    let open = (at..forged.len())
        .find(|&i| matches!(forged[i], b'(' | b'<'))
        .expect("the reason's string");
    let c = &mut forged[open + 1];
    *c = match *c {
        b'0'..=b'8' | b'a'..=b'e' | b'A'..=b'E' => *c + 1,
        b'9' => b'8',
        b'f' | b'F' => *c - 1,
        other => other ^ 0x01,
    };
    let c = check_upload(&app, forged).await;
    assert_eq!(c["further_signatures"][0]["verified"], false, "{c}");

    // The prescription's text rewritten in an update: not what was signed.
    let rewritten = updated(&pdf, |inc| {
        let page = first_page(inc);
        let contents = inc
            .get_prev_documents()
            .get_dictionary(page)
            .expect("page")
            .get(b"Contents")
            .expect("contents")
            .clone();
        let content_id = match contents {
            lopdf::Object::Reference(r) => r,
            lopdf::Object::Array(a) => a[0].as_reference().expect("ref"),
            other => panic!("contents {other:?}"),
        };
        inc.opt_clone_object_to_new_document(content_id)
            .expect("clone");
        inc.new_document
            .get_object_mut(content_id)
            .and_then(lopdf::Object::as_stream_mut)
            .expect("stream")
            .set_plain_content(b"BT /F1 12 Tf 72 72 Td (Tomar 10 comprimidos) Tj ET".to_vec());
    });
    let c = check_upload(&app, rewritten).await;
    assert_eq!(c["intact"], false, "{c}");
    assert_eq!(c["changed_after_signing"], true, "{c}");
    assert!(c.get("document").is_none(), "{c}");

    // A note stuck on the page (an annotation that is not a signature's): not either.
    let annotated = updated(&pdf, |inc| {
        let page = first_page(inc);
        let mut d = lopdf::Dictionary::new();
        d.set("Type", lopdf::Object::Name(b"Annot".to_vec()));
        d.set("Subtype", lopdf::Object::Name(b"FreeText".to_vec()));
        d.set(
            "Rect",
            [40, 40, 300, 80].map(lopdf::Object::Integer).to_vec(),
        );
        d.set("Contents", lopdf::Object::string_literal("Dose alterada"));
        let note = inc.new_document.add_object(d);
        inc.opt_clone_object_to_new_document(page).expect("clone");
        let dict = inc
            .new_document
            .get_object_mut(page)
            .and_then(lopdf::Object::as_dict_mut)
            .expect("page");
        let mut annots = dict
            .get(b"Annots")
            .and_then(lopdf::Object::as_array)
            .cloned()
            .unwrap_or_default();
        annots.push(lopdf::Object::Reference(note));
        dict.set("Annots", annots);
    });
    let c = check_upload(&app, annotated).await;
    assert_eq!(c["changed_after_signing"], true, "{c}");

    // The untouched file is still byte for byte ours, with nothing further.
    let c = check_upload(&app, pdf).await;
    assert_eq!(c["intact"], true);
    assert!(c.get("further_signatures").is_none(), "{c}");
    assert_eq!(c["changed_after_signing"], false);
}
