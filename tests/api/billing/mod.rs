//! Money: the price table, Pix charges through a PSP's API Pix (a contract server written
//! from the Central Bank's OpenAPI description), the webhook, refunds and the ledger.

mod cash;
mod pix;
mod prices;
pub mod psp;
mod reports;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book};
use crate::helpers::*;

/// The webhook secret the tests configure.
pub const WEBHOOK_SECRET: &str = "whsec0123456789abcdefghijklmnop";

/// The agenda fixture, a priced service (R$ 250,00) and Pix set up for Aurora.
pub struct Money {
    pub a: Agenda,
    pub service: String,
}

/// An app whose API Pix is the contract server `psp`.
pub async fn app_with_psp(psp: &psp::Psp, allowed_ips: Vec<String>) -> TestApp {
    let base = psp.base.clone();
    spawn_app_with(move |s| {
        s.pix.api_url = format!("{base}/v2");
        s.pix.token_url = format!("{base}/oauth/token");
        s.pix.client_id = psp::CLIENT_ID.into();
        s.pix.client_secret = atende::config::Secret::new(psp::CLIENT_SECRET.into());
        s.pix.webhook_secret = atende::config::Secret::new(WEBHOOK_SECRET.into());
        s.pix.webhook_allowed_ips = allowed_ips;
    })
    .await
}

pub async fn money_fixture(app: &TestApp) -> Money {
    let a = agenda_fixture(app).await;
    let (status, service) = json_of(
        app.post(
            &format!("/api/clinics/{}/services", a.clinic),
            Some(&a.admin.access),
            &json!({"name": "Consulta de rotina", "duration_minutes": 30, "price_cents": 25_000}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let resp = app
        .client
        .put(app.url(&format!("/api/clinics/{}/pix/settings", a.clinic)))
        .bearer_auth(&a.admin.access)
        .json(&json!({"pix_key": psp::KEY, "merchant_name": "Clínica Aurora", "merchant_city": "São Paulo"}))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status(), StatusCode::OK);
    Money {
        service: service["id"].as_str().expect("id").to_string(),
        a,
    }
}

impl Money {
    /// João's appointment with Helena tomorrow at `h`:00 for the priced service.
    pub async fn appointment(&self, app: &TestApp, h: u32) -> String {
        let (status, appt) = json_of(
            book(
                app,
                &self.a.clinic,
                &self.a.recep,
                json!({"professional_user_id": Agenda::id(&self.a.helena),
                       "patient_id": Agenda::patient(&self.a.joao),
                       "service_id": self.service, "starts_at": self.a.at(h, 0)}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{appt}");
        appt["id"].as_str().expect("id").to_string()
    }

    pub fn payment_path(&self, appointment: &str) -> String {
        format!(
            "/api/clinics/{}/appointments/{appointment}/payment",
            self.a.clinic
        )
    }

    pub async fn payment(&self, app: &TestApp, who: &Session, appointment: &str) -> Value {
        let (status, p) = json_of(
            app.get(&self.payment_path(appointment), Some(&who.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{p}");
        p
    }

    pub async fn ledger(&self, app: &TestApp) -> Value {
        let (status, l) = json_of(
            app.get(
                &format!("/api/clinics/{}/ledger", self.a.clinic),
                Some(&self.a.admin.access),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{l}");
        l
    }
}

/// Read a BR Code independently of atende's encoder: TLV fields and the CRC.
pub fn read_br_code(code: &str) -> Vec<(String, String)> {
    let body = &code[..code.len() - 4];
    let mut crc: u16 = 0xFFFF;
    for &b in body.as_bytes() {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    assert_eq!(
        format!("{crc:04X}"),
        &code[code.len() - 4..],
        "CRC of {code}"
    );
    let mut out = Vec::new();
    let mut rest = code;
    while !rest.is_empty() {
        let len: usize = rest[2..4].parse().expect("length");
        out.push((rest[..2].to_string(), rest[4..4 + len].to_string()));
        rest = &rest[4 + len..];
    }
    out
}

/// The TLV fields inside a template field (26, 62), without a CRC.
pub fn read_br_code_fields(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let len: usize = rest[2..4].parse().expect("length");
        out.push((rest[..2].to_string(), rest[4..4 + len].to_string()));
        rest = &rest[4 + len..];
    }
    out
}
