//! The allergy warning when prescribing: shown before signing, repeated on issue, never a
//! block; only active allergies; other documents and other patients untouched.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

fn prescription(r: &Rec, names: &[&str]) -> Value {
    let medications: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"name": n, "concentration": "500 mg", "form": "comprimido",
                   "quantity": "10 comprimidos", "instructions": "1 comprimido de 6/6 h se dor"})
        })
        .collect();
    json!({"clinic_id": r.a.clinic, "patient_id": r.patient,
           "content": {"kind": "prescription", "medications": medications}})
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_prescription_for_an_allergy_warns_before_signing_and_is_still_issued() {
    let app = spawn_app().await;
    let r = fixture(&app, 26).await;
    let helena = &r.a.helena;
    let allergies = format!("{}/allergies", r.record());
    for (substance, reaction, severity) in [
        ("Dipirona", "Anafilaxia", "severe"),
        ("AAS (ácido acetilsalicílico)", "Broncoespasmo", "moderate"),
        ("Látex", "Urticária", "mild"),
    ] {
        let (status, _) = json_of(
            app.post(
                &allergies,
                Some(&helena.access),
                &json!({"substance": substance, "reaction": reaction, "severity": severity}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }

    // Before signing: accents and case do not matter; each matching medicine is named.
    let body = prescription(
        &r,
        &["DIPIRONA SODICA", "Paracetamol", "Acido Acetilsalicilico"],
    );
    let (status, check) = json_of(
        app.post("/api/documents/warnings", Some(&helena.access), &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    let warnings = check["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 2, "{check}");
    assert_eq!(warnings[0]["code"], "allergy");
    assert_eq!(warnings[0]["medication"], "DIPIRONA SODICA");
    assert_eq!(warnings[0]["substance"], "Dipirona");
    assert_eq!(warnings[0]["reaction"], "Anafilaxia");
    assert_eq!(warnings[0]["severity"], "severe");
    assert_eq!(warnings[1]["substance"], "AAS (ácido acetilsalicílico)");
    assert!(did(&actions(&app).await, "record.read", helena));

    // Issued anyway (a warning, not a block), the answer carrying the warnings.
    let (status, issued) = json_of(
        app.post("/api/documents", Some(&helena.access), &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{issued}");
    assert_eq!(
        issued["warnings"].as_array().map(Vec::len),
        Some(2),
        "{issued}"
    );
    let rows = actions(&app).await;
    assert!(
        rows.iter()
            .any(|(a, _, d)| a == "document.issue" && d.contains("\"allergy_warnings\":2")),
        "{rows:?}"
    );

    // Nothing to warn about: another medicine, or the allergy made inactive.
    let (_, none) = json_of(
        app.post(
            "/api/documents/warnings",
            Some(&helena.access),
            &prescription(&r, &["Paracetamol"]),
        )
        .await,
    )
    .await;
    assert_eq!(none["warnings"], json!([]));
    let (_, list) = json_of(app.get(&allergies, Some(&helena.access)).await).await;
    let dipirona = list["allergies"][0]["id"].as_str().expect("id").to_string();
    let resp = app
        .client
        .patch(app.url(&format!("{allergies}/{dipirona}")))
        .bearer_auth(&helena.access)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, after) = json_of(
        app.post(
            "/api/documents/warnings",
            Some(&helena.access),
            &prescription(&r, &["Dipirona"]),
        )
        .await,
    )
    .await;
    assert_eq!(after["warnings"], json!([]));

    // A receptionist cannot ask.
    assert_eq!(
        app.post("/api/documents/warnings", Some(&r.a.recep.access), &body)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}
