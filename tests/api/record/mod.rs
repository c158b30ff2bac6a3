//! The clinical record: the encounter lifecycle (draft → version conflict → signed →
//! addenda), the 24 h auto-lock on an injected clock, who opens a record (care
//! relationship, break the glass, receptionists, other clinics, psychology notes), the
//! patient's own view, allergies, the timeline, and no clinical text in plaintext at rest.//!
//! Here: the fixture and the helpers the test modules share.

mod access;
mod cid10;
mod encounters;
mod fhir;
mod lists;
mod medications;
mod structured;
mod warnings;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book, cpf_for};
use crate::helpers::*;

/// A word that appears nowhere but in the clinical text these tests write.
pub(super) const SENTINEL: &str = "Zumbidoquarteto";

pub(super) struct Rec {
    pub(super) a: Agenda,
    /// A patient registered today at Aurora, with an appointment with Helena only.
    pub(super) patient: String,
    pub(super) appointment: String,
}

impl Rec {
    pub(super) fn base(&self, patient: &str) -> String {
        format!("/api/clinics/{}/patients/{patient}/record", self.a.clinic)
    }

    pub(super) fn record(&self) -> String {
        self.base(&self.patient)
    }
}

pub(super) async fn fixture(app: &TestApp, n: usize) -> Rec {
    let a = agenda_fixture(app).await;
    let (status, p) = json_of(
        app.post(
            &format!("/api/clinics/{}/patients", a.clinic),
            Some(&a.recep.access),
            &json!({"full_name": "Lúcia Prontuário", "cpf": cpf_for(7000 + n), "birth_date": "1979-03-03"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let patient = p["id"].as_str().expect("id").to_string();
    let (status, appt) = json_of(
        book(
            app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": patient,
                   "starts_at": a.at(10, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    let appointment = appt["id"].as_str().expect("id").to_string();
    Rec {
        a,
        patient,
        appointment,
    }
}

pub(super) fn content(complaint: &str) -> Value {
    json!({"chief_complaint": complaint, "history": "Febre há 3 dias.", "examination": "Orofaringe hiperemiada.",
           "diagnoses": [{"code": "j11.1", "text": "Influenza"}], "plan": "Sintomáticos; retorno se piora.",
           "evolution": ""})
}

pub(super) async fn create(
    app: &TestApp,
    r: &Rec,
    who: &Session,
    body: Value,
) -> (StatusCode, Value) {
    json_of(
        app.post(
            &format!("{}/encounters", r.record()),
            Some(&who.access),
            &body,
        )
        .await,
    )
    .await
}

pub(super) async fn put(
    app: &TestApp,
    path: &str,
    who: &Session,
    body: &Value,
) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(&who.access)
        .json(body)
        .send()
        .await
        .expect("put")
}

pub(super) async fn actions(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    app.state
        .store
        .audit_page(0, 100_000)
        .await
        .expect("audit")
        .into_iter()
        .map(|r| (r.action, r.actor_user_id.map(|u| u.to_string()), r.details))
        .collect()
}

pub(super) fn did(rows: &[(String, Option<String>, String)], action: &str, who: &Session) -> bool {
    rows.iter()
        .any(|(a, u, _)| a == action && u.as_deref() == who.me["id"].as_str())
}

/// Add a professional to Aurora (by its admin) and log them in.
pub(super) async fn new_professional(app: &TestApp, r: &Rec, body: Value) -> Session {
    let (status, member) = json_of(
        app.post(
            &format!("/api/clinics/{}/professionals", r.a.clinic),
            Some(&r.a.admin.access),
            &body,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{member}");
    app.login(
        body["email"].as_str().expect("email"),
        body["password"].as_str().expect("password"),
    )
    .await
}
