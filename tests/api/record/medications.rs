//! Medications in use: the medicines of the prescriptions issued for the patient, stopped
//! with a reason by a professional, once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

async fn prescribe(app: &TestApp, r: &Rec, names: &[&str]) -> String {
    let medications: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"name": n, "concentration": "500 mg", "form": "comprimido",
                   "quantity": "30 comprimidos", "instructions": "1 comprimido ao dia"})
        })
        .collect();
    let (status, doc) = json_of(
        app.post(
            "/api/documents",
            Some(&r.a.helena.access),
            &json!({"clinic_id": r.a.clinic, "patient_id": r.patient,
                    "content": {"kind": "prescription", "medications": medications}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
    doc["id"].as_str().expect("id").to_string()
}

fn names(list: &Value) -> Vec<(String, String)> {
    list["medications"]
        .as_array()
        .expect("medications")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_string(),
                m["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn medications_come_from_prescriptions_and_are_stopped_once_with_a_reason() {
    let app = spawn_app().await;
    let r = fixture(&app, 27).await;
    let helena = &r.a.helena;
    let meds = format!("{}/medications", r.record());
    let first = prescribe(&app, &r, &["Losartana"]).await;
    let second = prescribe(&app, &r, &["Amoxicilina", "Dipirona"]).await;

    let (status, list) = json_of(app.get(&meds, Some(&helena.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let all = names(&list);
    assert_eq!(all.len(), 3, "{list}");
    assert!(all.iter().all(|(_, s)| s == "active"));
    assert_eq!(list["medications"][2]["document_id"], first.as_str());
    assert_eq!(
        list["medications"][2]["prescribed_by_name"],
        helena.me["full_name"]
    );

    let stop = format!("{meds}/stop");
    let (status, after) = json_of(
        app.post(
            &stop,
            Some(&helena.access),
            &json!({"document_id": second, "item": 0, "reason": "Curso de 7 dias concluído"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let all = names(&after);
    assert_eq!(
        all.last(),
        Some(&("Amoxicilina".to_string(), "stopped".to_string()))
    );
    let stopped = &after["medications"][2];
    assert_eq!(stopped["stop_reason"], "Curso de 7 dias concluído");
    assert_eq!(stopped["stopped_by_name"], helena.me["full_name"]);
    assert!(stopped["stopped_at"].is_string());
    assert!(did(&actions(&app).await, "medication.stopped", helena));

    // Once; only medicines of this record's prescriptions; a reason is required.
    assert_error(
        app.post(
            &stop,
            Some(&helena.access),
            &json!({"document_id": second, "item": 0, "reason": "de novo"}),
        )
        .await,
        StatusCode::CONFLICT,
        "medication_already_stopped",
    )
    .await;
    for body in [
        json!({"document_id": second, "item": 2, "reason": "não existe"}),
        json!({"document_id": uuid::Uuid::now_v7(), "item": 0, "reason": "não existe"}),
    ] {
        assert_eq!(
            app.post(&stop, Some(&helena.access), &body).await.status(),
            StatusCode::NOT_FOUND
        );
    }
    assert_error(
        app.post(
            &stop,
            Some(&helena.access),
            &json!({"document_id": first, "item": 0, "reason": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_text",
    )
    .await;

    // Who may: not the receptionist, not another clinic, not a professional without care.
    assert_error(
        app.get(&meds, Some(&r.a.recep.access)).await,
        StatusCode::FORBIDDEN,
        "no_clinical_access",
    )
    .await;
    let other = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&meds, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &stop,
            Some(&r.a.rafael.access),
            &json!({"document_id": first, "item": 0, "reason": "sem relação"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
}
