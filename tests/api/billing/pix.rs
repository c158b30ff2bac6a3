//! Paying an appointment by Pix through the PSP's API Pix: charge → the PSP's webhook →
//! paid, live at the reception; forged and repeated notifications change nothing; a
//! refund reverses the ledger. Without an API Pix, a static BR Code.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::psp::Psp;
use super::{WEBHOOK_SECRET, app_with_psp, money_fixture, read_br_code};
use crate::helpers::*;

fn field<'a>(fields: &'a [(String, String)], id: &str) -> &'a str {
    fields
        .iter()
        .find(|(i, _)| i == id)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("field {id} in {fields:?}"))
}

fn lines(ledger: &Value) -> Vec<Value> {
    ledger["lines"].as_array().expect("lines").clone()
}

fn audit_count(rows: &[atende::security::audit::AuditRow], action: &str) -> usize {
    rows.iter().filter(|r| r.action == action).count()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_pix_charge_is_paid_by_the_psps_webhook_live_at_the_reception_and_refunded() {
    let psp = Psp::start().await;
    let app = app_with_psp(&psp, Vec::new()).await;
    let m = money_fixture(&app).await;
    let a = &m.a;
    let appt = m.appointment(&app, 10).await;
    let mut desk = app.ws(&a.recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;

    // The patient asks to pay: the PSP creates the charge and its dynamic BR Code.
    let pay_path = format!("{}/pix", m.payment_path(&appt));
    let (status, p) = json_of(app.post(&pay_path, Some(&a.joao.access), &json!({})).await).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["status"], "pending", "{p}");
    let charge = &p["charge"];
    assert_eq!(charge["amount_cents"], 25_000);
    let txid = charge["txid"].as_str().expect("txid").to_string();
    let code = read_br_code(charge["br_code"].as_str().expect("code"));
    assert_eq!(field(&code, "01"), "12", "a one-time dynamic code");
    let pix_account = super::read_br_code_fields(field(&code, "26"));
    assert!(field(&pix_account, "25").starts_with("pix.example.com/qr/v2/"));
    // Asking again gives the same open charge, not a second one.
    let (_, again) = json_of(app.post(&pay_path, Some(&a.joao.access), &json!({})).await).await;
    assert_eq!(again["charge"]["txid"], txid.as_str());
    desk.push_matching("payment.updated", |e| e["payment"]["status"] == "pending")
        .await;

    // The payer pays; the PSP calls the webhook.
    let e2e = psp.pay(&txid);
    let webhook = app.url(&format!("/api/webhooks/pix/{WEBHOOK_SECRET}"));
    let notification = psp.notification(&txid);
    let resp = psp.notify(&webhook, &notification).await;
    let (status, outcome) = json_of(resp).await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["reconciled"], 1);
    let pushed = desk
        .push_matching("payment.updated", |e| e["payment"]["status"] == "paid")
        .await;
    assert_eq!(pushed["appointment_id"], appt.as_str());
    let p = m.payment(&app, &a.joao, &appt).await;
    assert_eq!(
        (p["status"].as_str(), p["paid_cents"].as_i64()),
        (Some("paid"), Some(25_000)),
        "{p}"
    );
    let ledger = m.ledger(&app).await;
    assert_eq!(lines(&ledger).len(), 2, "{ledger}");
    assert!(
        lines(&ledger)
            .iter()
            .all(|l| l["reference"] == e2e.as_str())
    );
    let sum: i64 = lines(&ledger)
        .iter()
        .map(|l| l["amount_cents"].as_i64().expect("amount"))
        .sum();
    assert_eq!(sum, 0, "a transaction balances");

    // The same notification again (PSPs retry): nothing changes.
    let audit_before = app.state.store.audit_page(0, 100_000).await.expect("audit");
    let resp = psp.notify(&webhook, &notification).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(lines(&m.ledger(&app).await).len(), 2);
    let audit_after = app.state.store.audit_page(0, 100_000).await.expect("audit");
    assert_eq!(audit_count(&audit_after, "pix.received"), 1);
    assert_eq!(
        audit_before.len(),
        audit_after.len(),
        "a repeated notification writes nothing"
    );
    assert!(
        desk.try_push("payment.updated", std::time::Duration::from_millis(500))
            .await
            .is_none(),
        "and announces nothing"
    );
    // The agenda's payment list says "paid" too.
    let (status, list) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/payments?from={}&to={}",
                a.clinic, a.day, a.day
            ),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list,
        json!([{"appointment_id": appt, "status": "paid", "paid_cents": 25_000}])
    );
    // The ledger cannot be edited, even with the database's own credentials.
    let edited = match app.state.store.pool() {
        atende::store::Pool::Sqlite(p) => sqlx::query("UPDATE ledger_entries SET amount_cents = 1")
            .execute(p)
            .await
            .is_ok(),
        atende::store::Pool::Postgres(p) => sqlx::query("DELETE FROM ledger_entries")
            .execute(p)
            .await
            .is_ok(),
    };
    assert!(!edited, "the ledger is append-only");
    // A second charge for a paid appointment is refused.
    assert_error(
        app.post(&pay_path, Some(&a.joao.access), &json!({})).await,
        StatusCode::CONFLICT,
        "already_paid",
    )
    .await;

    // The administrator refunds it; the ledger is reversed when the PSP has returned it.
    let refund_path = format!("{}/refund", m.payment_path(&appt));
    assert_error(
        app.post(&refund_path, Some(&a.recep.access), &json!({}))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &refund_path,
            Some(&a.admin.access),
            &json!({"amount_cents": 25_001}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_refund_amount",
    )
    .await;
    let (status, p) = json_of(
        app.post(
            &refund_path,
            Some(&a.admin.access),
            &json!({"reason": "consulta desmarcada pela clínica"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let refund_id = p["refunds"][0]["id"].as_str().expect("refund").to_string();
    assert_eq!(p["refunds"][0]["status"], "requested");
    assert_eq!(
        lines(&m.ledger(&app).await).len(),
        2,
        "nothing moves until the PSP returns it"
    );
    psp.settle_refund(&refund_id);
    let resp = psp.notify(&webhook, &psp.notification(&txid)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    desk.push_matching("payment.updated", |e| e["payment"]["status"] == "refunded")
        .await;
    let ledger = m.ledger(&app).await;
    assert_eq!(lines(&ledger).len(), 4, "{ledger}");
    assert!(
        ledger["balances"]
            .as_array()
            .expect("balances")
            .iter()
            .all(|b| b["balance_cents"] == 0),
        "the refund reverses the payment: {ledger}"
    );
    let p = m.payment(&app, &a.recep, &appt).await;
    assert_eq!(
        (p["status"].as_str(), p["refunded_cents"].as_i64()),
        (Some("refunded"), Some(25_000))
    );
    // Notified again: still one refund in the ledger.
    psp.notify(&webhook, &psp.notification(&txid)).await;
    assert_eq!(lines(&m.ledger(&app).await).len(), 4);
    assert_eq!(
        psp.token_requests(),
        1,
        "one OAuth token serves every call while valid"
    );
    // Every movement is audited, and the chain still verifies.
    let rows = app.state.store.audit_page(0, 100_000).await.expect("audit");
    for action in [
        "pix.charge_created",
        "pix.received",
        "pix.refund_requested",
        "pix.refunded",
    ] {
        assert_eq!(audit_count(&rows, action), 1, "{action}");
    }
    assert!(
        matches!(
            app.verify_audit().await,
            atende::security::audit::ChainReport::Intact { .. }
        ),
        "the audit chain verifies"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn forged_webhooks_are_refused_and_change_nothing() {
    let psp = Psp::start().await;
    let app = app_with_psp(&psp, Vec::new()).await;
    let m = money_fixture(&app).await;
    let a = &m.a;
    let appt = m.appointment(&app, 11).await;
    let (_, p) = json_of(
        app.post(
            &format!("{}/pix", m.payment_path(&appt)),
            Some(&a.joao.access),
            &json!({}),
        )
        .await,
    )
    .await;
    let txid = p["charge"]["txid"].as_str().expect("txid").to_string();
    // A forger who knows the txid but not the secret.
    let forged = json!({"pix": [{"endToEndId": "E00000000202612061200abcdefghijk", "txid": txid,
                                 "valor": "250.00", "horario": "2026-12-06T12:00:00Z"}]});
    let wrong = app.url("/api/webhooks/pix/whsecWRONGWRONGWRONGWRONGWRONG");
    assert_error(
        psp.notify(&wrong, &forged).await,
        StatusCode::UNAUTHORIZED,
        "webhook_refused",
    )
    .await;
    // One who has the secret but no Pix behind the claim: the PSP lists no Pix, so nothing
    // is paid.
    let right = app.url(&format!("/api/webhooks/pix/{WEBHOOK_SECRET}"));
    let resp = psp.notify(&right, &forged).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let p = m.payment(&app, &a.recep, &appt).await;
    assert_eq!(
        (p["status"].as_str(), p["paid_cents"].as_i64()),
        (Some("pending"), Some(0)),
        "{p}"
    );
    assert!(lines(&m.ledger(&app).await).is_empty());
    // Not JSON: refused (after the secret is checked).
    let resp = app
        .client
        .post(format!("{right}/pix"))
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_error(resp, StatusCode::BAD_REQUEST, "invalid_body").await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_webhook_takes_calls_only_from_the_allowed_addresses() {
    let psp = Psp::start().await;
    let app = app_with_psp(&psp, vec!["10.9.8.7".into()]).await;
    let right = app.url(&format!("/api/webhooks/pix/{WEBHOOK_SECRET}"));
    assert_error(
        psp.notify(&right, &json!({"pix": []})).await,
        StatusCode::FORBIDDEN,
        "webhook_address_refused",
    )
    .await;
    let open = app_with_psp(&psp, vec!["127.0.0.1".into()]).await;
    let right = open.url(&format!("/api/webhooks/pix/{WEBHOOK_SECRET}"));
    assert_eq!(
        psp.notify(&right, &json!({"pix": []})).await.status(),
        StatusCode::OK
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn without_an_api_pix_the_charge_is_a_static_br_code_with_amount_and_txid() {
    let app = spawn_app().await;
    let m = money_fixture(&app).await;
    let appt = m.appointment(&app, 14).await;
    let (status, p) = json_of(
        app.post(
            &format!("{}/pix", m.payment_path(&appt)),
            Some(&m.a.recep.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let code = read_br_code(p["charge"]["br_code"].as_str().expect("code"));
    assert_eq!(field(&code, "54"), "250.00");
    assert_eq!(field(&code, "59"), "Clinica Aurora");
    assert_eq!(field(&code, "60"), "Sao Paulo");
    let account = super::read_br_code_fields(field(&code, "26"));
    assert_eq!(field(&account, "00"), "br.gov.bcb.pix");
    assert_eq!(field(&account, "01"), super::psp::KEY);
    let extra = super::read_br_code_fields(field(&code, "62"));
    assert_eq!(
        field(&extra, "05"),
        p["charge"]["txid"].as_str().expect("txid")
    );
    // The webhook exists only with an API Pix.
    let resp = app
        .post(
            &format!("/api/webhooks/pix/{WEBHOOK_SECRET}/pix"),
            None,
            &json!({"pix": []}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
