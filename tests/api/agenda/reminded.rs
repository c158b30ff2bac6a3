//! A clinic that reminds its patients 2 hours before by a phone channel (WhatsApp or SMS),
//! with João's phone on file and the demo's appointments of today out of the way: what the
//! WhatsApp and SMS suites share (each adds its provider's contract server).

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Agenda, agenda_fixture, appointment_status, book};
use crate::helpers::*;
use crate::mail::{starts, wait_message};

pub struct Reminded {
    pub app: TestApp,
    pub a: Agenda,
    /// João's record in the clinic.
    pub joao: String,
}

impl Reminded {
    /// `flag`: the clinic setting that turns the channel on (`whatsapp_enabled`,
    /// `sms_enabled`); `phone`: João's phone as the clinic records it.
    pub async fn new(app: TestApp, flag: &str, phone: &str) -> Self {
        let a = agenda_fixture(&app).await;
        app.cancel_todays_appointments(&a.clinic, &a.recep).await;
        let mut rules = json!({"reminders_enabled": true, "reminder_offsets_minutes": [120],
            "quiet_start": "21:00", "quiet_end": "08:00"});
        rules[flag] = json!(true);
        let r = Reminded {
            app,
            a,
            joao: String::new(),
        };
        let saved = r.put_rules(&rules).await;
        assert_eq!(saved[flag], true, "{saved}");
        let joao = Agenda::patient(&r.a.joao)
            .as_str()
            .expect("record")
            .to_string();
        let resp = r
            .app
            .patch(
                &format!("/api/clinics/{}/patients/{joao}", r.a.clinic),
                Some(&r.a.recep.access),
                &json!({"phone": phone}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.text().await);
        Reminded { joao, ..r }
    }

    /// Save the clinic's messaging settings (as its administrator); what was saved.
    pub async fn put_rules(&self, rules: &Value) -> Value {
        let (status, saved) = json_of(
            self.app
                .client
                .put(
                    self.app
                        .url(&format!("/api/clinics/{}/messaging", self.a.clinic)),
                )
                .bearer_auth(&self.a.admin.access)
                .json(rules)
                .send()
                .await
                .expect("put"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{saved}");
        saved
    }

    /// João's appointment with Dra. Helena tomorrow at `h:m`.
    pub async fn book(&self, h: u32, m: u32) -> Value {
        let (status, appt) = json_of(
            book(
                &self.app,
                &self.a.clinic,
                &self.a.recep,
                json!({"professional_user_id": Agenda::id(&self.a.helena),
                       "patient_id": self.joao, "starts_at": self.a.at(h, m)}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{appt}");
        appt
    }

    pub fn query(appt: &Value) -> String {
        format!("appointment_id={}", appt["id"].as_str().expect("id"))
    }

    /// The appointment's reminder in the state `status`, once the clock is an hour before it.
    pub async fn reminder(&self, appt: &Value, status: &str) -> Value {
        self.app
            .clock
            .set(starts(appt) - chrono::Duration::minutes(60));
        self.wait(appt, status).await
    }

    /// The appointment's reminder once it is in the state `status`.
    pub async fn wait(&self, appt: &Value, status: &str) -> Value {
        wait_message(
            &self.app,
            &self.a.clinic,
            &self.a.recep,
            &Self::query(appt),
            |m| m["template"] == "appointment_reminder" && m["status"] == status,
        )
        .await
    }

    pub async fn status_of(&self, appt: &Value) -> String {
        appointment_status(&self.app, &self.a, appt).await
    }
}
