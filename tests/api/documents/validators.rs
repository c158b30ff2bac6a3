//! Independent validators (poppler's pdfsig, pyHanko, and OpenSSL's `cms -verify` on the
//! signature's CMS over the signed byte ranges) accept every kind and an imported PKCS#12
//! certificate, and reject a changed byte.

use std::path::Path;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

/// Whether the validators are here; under CI=true their absence is a failure.
pub(super) fn validators_available() -> bool {
    let have = |cmd: &str| Command::new(cmd).arg("--help").output().is_ok();
    let ok = have("pdfsig")
        && have("pyhanko")
        && have("certutil")
        && have("pdftotext")
        && Command::new("openssl").arg("version").output().is_ok();
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but pdfsig / pyhanko / certutil / pdftotext / openssl are missing");
    }
    if !ok {
        eprintln!("skipping: pdfsig, pyhanko, certutil, pdftotext or openssl not installed");
    }
    ok
}

struct Verdict {
    pdfsig: String,
    pyhanko_ok: bool,
    pyhanko: String,
    openssl_ok: bool,
    openssl: String,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run validator");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// An NSS database in `dir` that trusts `root_pem`, for pdfsig (`sql:<path>`).
pub(super) fn nss_trusting(dir: &Path, name: &str, root_pem: &str) -> String {
    let root = dir.join(format!("{name}.root.pem"));
    std::fs::write(&root, root_pem).expect("write root");
    let nss = dir.join(format!("{name}.nss"));
    std::fs::create_dir_all(&nss).expect("nss dir");
    let db = format!("sql:{}", nss.display());
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]));
    run(Command::new("certutil")
        .args(["-A", "-n", "root", "-t", "CT,C,C", "-d", &db, "-i"])
        .arg(&root));
    db
}

/// pdfsig's report on `file`, trusting what the NSS database `db` trusts.
pub(super) fn pdfsig(db: &str, file: &Path) -> String {
    run(Command::new("pdfsig").args(["-nssdir", db]).arg(file))
}

/// OpenSSL's verdict on the PDF's signature: the CMS in `/Contents` (hex, zero-padded) over
/// the two byte ranges it signs, its chain ending at `root` (`-purpose any`: the
/// certificate is for signing documents, not e-mail).
fn openssl_cms(dir: &Path, name: &str, pdf: &[u8], root: &Path) -> (bool, String) {
    let [a, b, c, d] = byte_range(pdf);
    let hex_digits: Vec<u8> = pdf[a + b..c]
        .iter()
        .copied()
        .filter(u8::is_ascii_hexdigit)
        .collect();
    let cms = hex::decode(&hex_digits).expect("the signature's hex");
    let signed = [&pdf[a..a + b], &pdf[c..c + d]].concat();
    let (cms_file, content) = (
        dir.join(format!("{name}.p7s")),
        dir.join(format!("{name}.signed")),
    );
    std::fs::write(&cms_file, cms).expect("write cms");
    std::fs::write(&content, signed).expect("write content");
    let out = Command::new("openssl")
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any",
        ])
        .arg("-in")
        .arg(&cms_file)
        .arg("-content")
        .arg(&content)
        .arg("-CAfile")
        .arg(root)
        .args(["-out", "/dev/null"])
        .output()
        .expect("openssl");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn validate(dir: &Path, name: &str, pdf: &[u8], root_pem: &str) -> Verdict {
    let file = dir.join(name);
    std::fs::write(&file, pdf).expect("write pdf");
    let root = dir.join(format!("{name}.root.pem"));
    let db = nss_trusting(dir, name, root_pem);
    let pdfsig = pdfsig(&db, &file);
    let out = Command::new("pyhanko")
        .args(["sign", "validate", "--no-revocation-check", "--trust"])
        .arg(&root)
        .arg("--trust-replace")
        .arg(&file)
        .output()
        .expect("pyhanko");
    let (openssl_ok, openssl) = openssl_cms(dir, name, pdf, &root);
    Verdict {
        openssl_ok,
        openssl,
        pdfsig,
        pyhanko_ok: out.status.success(),
        pyhanko: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn assert_valid(v: &Verdict, what: &str) {
    assert!(
        v.pdfsig.contains("Signature is Valid."),
        "{what}: pdfsig:\n{}",
        v.pdfsig
    );
    assert!(
        v.pdfsig.contains("Certificate is Trusted."),
        "{what}: pdfsig:\n{}",
        v.pdfsig
    );
    assert!(
        v.pdfsig.contains("Total document signed"),
        "{what}: pdfsig:\n{}",
        v.pdfsig
    );
    assert!(v.pyhanko_ok, "{what}: pyhanko:\n{}", v.pyhanko);
    assert!(
        v.pyhanko.contains("INTACT"),
        "{what}: pyhanko:\n{}",
        v.pyhanko
    );
    assert!(
        v.openssl_ok && v.openssl.contains("Verification successful"),
        "{what}: openssl cms:\n{}",
        v.openssl
    );
}

pub(super) fn pdftotext(dir: &Path, name: &str, pdf: &[u8]) -> String {
    let file = dir.join(name);
    std::fs::write(&file, pdf).expect("write");
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn independent_validators_accept_every_kind_and_reject_a_changed_byte() {
    if !validators_available() {
        return;
    }
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let dir = tempfile::tempdir().expect("tmp");
    let ca = app
        .get("/api/public/signing-ca.pem", None)
        .await
        .text()
        .await
        .expect("pem");
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    // A long prescription flows onto more pages.
    let long: Vec<Value> = (1..=25)
        .map(|i| json!({"name": format!("Medicação nº {i}"), "concentration": "10 mg", "form": "comprimido",
                        "quantity": "1 caixa", "instructions": "1 comprimido pela manhã, em jejum, com água; não associar a bebida alcoólica."}))
        .collect();
    let cases = [
        ("prescription", prescription()),
        ("special", special()),
        ("certificate", certificate()),
        ("exams", exams()),
        ("long", json!({"kind": "prescription", "medications": long})),
    ];
    for (name, content) in cases {
        let body = issued(&app, &d, content).await;
        let id = body["id"].as_str().expect("id");
        assert_eq!(settled(&app, &d.helena, id).await["status"], "signed");
        let pdf = pdf_of(&app, &d.helena, id).await;
        assert_valid(
            &validate(dir.path(), &format!("{name}.pdf"), &pdf, &ca),
            name,
        );
        let text = pdftotext(dir.path(), &format!("{name}-text.pdf"), &pdf);
        assert!(text.contains("João Pereira da Silva"), "{name}: {text}");
        assert!(text.contains("529.982.247-25"));
        assert!(
            text.contains("Helena Duarte")
                && text.contains("CRM 123456/SP")
                && text.contains("RQE 54321")
        );
        assert!(text.contains(body["code"].as_str().expect("code")));
        assert!(
            text.contains("assinado digitalmente por Helena Duarte"),
            "{name}: {text}"
        );
        match name {
            "prescription" => assert!(
                text.contains("Dipirona sódica")
                    && text.contains("solução oral")
                    && text.contains("não exceder")
            ),
            "special" => {
                assert!(
                    text.contains("1ª via – Retenção da Farmácia ou Drogaria"),
                    "{text}"
                );
                assert!(text.contains("2ª via – Orientação ao Paciente"));
                assert!(text.contains("1º mês"));
            }
            "certificate" => {
                assert!(text.contains("3 dias") && text.contains("CID-10: J11"));
                assert!(text.contains("consentimento expresso"));
            }
            "exams" => {
                assert!(text.contains("Proteína C reativa") && text.contains("TUSS 40304361"))
            }
            "long" => {
                assert!(text.contains("Medicação nº 25"));
                assert!(
                    text.contains("Página 2 de"),
                    "a long prescription spans pages"
                );
            }
            _ => {}
        }
        // One byte changed inside the signed range: both validators say invalid.
        let mut bad = pdf.clone();
        let [_, b, _, _] = byte_range(&pdf);
        let at = b / 2;
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        let v = validate(dir.path(), &format!("{name}-tampered.pdf"), &bad, &ca);
        assert!(
            !v.pdfsig.contains("Signature is Valid."),
            "{name} tampered: pdfsig:\n{}",
            v.pdfsig
        );
        assert!(!v.pyhanko_ok, "{name} tampered: pyhanko:\n{}", v.pyhanko);
        assert!(
            !v.openssl_ok,
            "{name} tampered: openssl cms:\n{}",
            v.openssl
        );
    }
    // A certificate without CID says nothing about a diagnosis.
    let mut plain = certificate();
    plain["cid"] = Value::Null;
    plain["cid_consent"] = json!(false);
    let id = issued(&app, &d, plain).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    settled(&app, &d.helena, &id).await;
    let text = pdftotext(dir.path(), "plain.pdf", &pdf_of(&app, &d.helena, &id).await);
    assert!(!text.contains("CID"), "{text}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_imported_pkcs12_certificate_signs_and_validates_against_its_own_root() {
    use atende::documents::pki;
    let app = spawn_app().await;
    let d = fixture(&app).await;
    // An outside CA (standing in for ICP-Brasil) and Helena's A1 certificate from it.
    let (root_key, root_cert) =
        pki::generate_ca("AC Teste ICP", std::time::SystemTime::now()).expect("root");
    let b64 = helena_pfx(&root_key, &root_cert, std::time::SystemTime::now());
    let put = |password: &'static str| import_key(&app, &d.helena, &b64, password);
    assert_error(
        put("errada").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_pkcs12",
    )
    .await;
    let (status, key) = json_of(put("s3nha-forte").await).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!(key["source"], "imported");
    assert!(
        key["subject"]
            .as_str()
            .expect("subject")
            .contains("HELENA DUARTE"),
        "{key}"
    );
    let (_, shown) = json_of(app.get("/api/me/signing-key", Some(&d.helena.access)).await).await;
    assert_eq!(shown["source"], "imported");

    let id = issued(&app, &d, prescription()).await["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(settled(&app, &d.helena, &id).await["status"], "signed");
    let pdf = pdf_of(&app, &d.helena, &id).await;
    if validators_available() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_valid(
            &validate(dir.path(), "imported.pdf", &pdf, &pki::pem(&root_cert)),
            "imported",
        );
        // It does not chain to the installation CA.
        let ours = app
            .get("/api/public/signing-ca.pem", None)
            .await
            .text()
            .await
            .expect("pem");
        let v = validate(dir.path(), "imported-ours.pdf", &pdf, &ours);
        assert!(
            !v.pdfsig.contains("Certificate is Trusted."),
            "{}",
            v.pdfsig
        );
        assert!(
            !v.openssl_ok,
            "openssl cms trusted a foreign root:\n{}",
            v.openssl
        );
    }
    // Back to the installation's certificate.
    back_to_installation_key(&app, &d.helena).await;
    let (_, shown) = json_of(app.get("/api/me/signing-key", Some(&d.helena.access)).await).await;
    assert_eq!(shown["source"], "installation_ca");
}
