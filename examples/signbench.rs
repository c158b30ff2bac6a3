//! Signing throughput without HTTP or a database: what one signer thread does per document.
//!
//! ```sh
//! cargo run --release --example signbench -- [seconds per measurement, default 5]
//! ```
//! Measures, with 1 and 2 threads: the RSA-2048 signature alone (PKCS#1 v1.5 over SHA-256)
//! through `ring`, as the CMS signer does, and through the `rsa` crate (blinded) for
//! comparison, the CMS SignedData (attributes + signature + chain),
//! rendering a three-medication prescription (printpdf → lopdf), and render + sign (the whole
//! signer job). Compare with `openssl speed -seconds 5 rsa2048` on the same machine.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use atende::documents::layout::{self, RenderInput};
use atende::documents::pades::{self, SignatureMeta};
use atende::documents::pki::{self, KeyMaterial};
use atende::domain::document::{DocumentContent, Medication};
use rsa::rand_core::OsRng;
use rsa::signature::RandomizedSigner;

fn input() -> RenderInput {
    let med = |name: &str, c: &str, f: &str, q: &str, i: &str| Medication {
        name: name.into(),
        concentration: c.into(),
        form: f.into(),
        quantity: q.into(),
        instructions: i.into(),
        list: None,
    };
    RenderInput {
        title: "Receituário".into(),
        prescription_note: None,
        signature_notice: Some(atende::documents::NOT_ICP_NOTICE.into()),
        issued_at: chrono::DateTime::from_timestamp(1_795_453_500, 0).unwrap_or_default(),
        content: DocumentContent::Prescription {
            medications: vec![
                med(
                    "Amoxicilina",
                    "500 mg",
                    "cápsula",
                    "21 cápsulas",
                    "1 cápsula de 8 em 8 horas por 7 dias",
                ),
                med(
                    "Dipirona sódica",
                    "500 mg/mL",
                    "solução oral",
                    "1 frasco",
                    "40 gotas até de 6/6 h se dor ou febre",
                ),
                med(
                    "Loratadina",
                    "10 mg",
                    "comprimido",
                    "10 comprimidos",
                    "1 comprimido ao dia por 10 dias",
                ),
            ],
            notes: None,
        },
        clinic_name: "Clínica Aurora".into(),
        clinic_address: "Avenida Paulista, 1578 – Bela Vista, São Paulo/SP – CEP 01310-200".into(),
        clinic_cnpj: "11.222.333/0001-81".into(),
        clinic_city: "São Paulo".into(),
        professional_name: "Helena Duarte".into(),
        professional_council: "CRM 123456/SP".into(),
        professional_rqe: Some("54321".into()),
        professional_specialty: Some("Clínica Médica".into()),
        patient_name: "João Pereira da Silva".into(),
        patient_cpf: "529.982.247-25".into(),
        antimicrobial_valid_until: None,
        patient_address: Some(
            "Rua Augusta, 1500 (apto 42) – Consolação, São Paulo/SP – CEP 01304-001".into(),
        ),
        issued_at_text: "23 de novembro de 2026, 14:05 (horário de Brasília)".into(),
        verify_url: "https://clinica.example/v/01a20759-de9e-7691-aa88-edbe6652b377".into(),
        code: "APSHJ-DEN5T".into(),
        signer_name: "Helena Duarte".into(),
        preview: false,
    }
}

/// Run `work` on `threads` threads for `secs` seconds; operations per second.
fn rate(threads: usize, secs: u64, work: Arc<dyn Fn() + Send + Sync>) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let work = work.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    work();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("seconds"))
        .unwrap_or(5);
    let (ca_key, ca_cert) = pki::generate_ca("Bench CA", std::time::SystemTime::now()).unwrap();
    let ca = KeyMaterial::from_der(&ca_key, std::slice::from_ref(&ca_cert)).unwrap();
    let (key, cert) = pki::issue_signing_cert(
        &ca,
        "Helena Duarte",
        "CRM 123456/SP",
        std::time::SystemTime::now(),
    )
    .unwrap();
    let material = Arc::new(KeyMaterial::from_der(&key, &[cert, ca_cert]).unwrap());
    assert!(
        material.signs_with_ring(),
        "a 2048-bit key signs through ring"
    );
    let meta = SignatureMeta {
        signer_name: "Helena Duarte".into(),
        reason: "Receituário".into(),
        location: "São Paulo - SP".into(),
        time: chrono::Utc::now(),
        iti: vec![("2.16.76.1.12.1.1".into(), String::new())],
    };
    let sample = pades::sign(layout::render(&input()), &meta, &material).unwrap();
    println!("one signed prescription: {} bytes", sample.len());

    for threads in [1, 2] {
        let m = material.clone();
        let ring_only = rate(
            threads,
            secs,
            Arc::new(move || {
                m.sign_sha256(b"attributes").unwrap();
            }),
        );
        let m = material.clone();
        let rsa_only = rate(
            threads,
            secs,
            Arc::new(move || {
                let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(m.key.clone());
                let _ = signer.sign_with_rng(&mut OsRng, b"attributes");
            }),
        );
        let m = material.clone();
        let cms = rate(
            threads,
            secs,
            Arc::new(move || {
                pades::signed_data(&[7u8; 32], &m).unwrap();
            }),
        );
        let render = rate(
            threads,
            secs,
            Arc::new(|| {
                let mut doc = layout::render(&input());
                let mut out = Vec::new();
                doc.save_to(&mut out).unwrap();
            }),
        );
        let (m, meta2) = (material.clone(), meta.clone());
        let whole = rate(
            threads,
            secs,
            Arc::new(move || {
                pades::sign(layout::render(&input()), &meta2, &m).unwrap();
            }),
        );
        println!(
            "{threads} thread(s): RSA-2048 signatures ring {ring_only:.0}/s, rsa crate {rsa_only:.0}/s · CMS SignedData {cms:.0}/s · \
             render {render:.0}/s · render + sign (one signer job) {whole:.0}/s"
        );
    }
}
