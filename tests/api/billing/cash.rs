//! The front desk's cash register: a session opened with the drawer's cash, payments and a
//! refund taken at the desk by each method, the closing report with the difference, the
//! ledger it leaves, an administrator's adjustment, and a closed session the database keeps
//! as it was.

use atende::clock::Clock as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{Agenda, agenda_fixture, book};
use crate::helpers::*;

async fn post(
    app: &TestApp,
    a: &Agenda,
    who: &Session,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    json_of(
        app.post(
            &format!("/api/clinics/{}/cash{path}", a.clinic),
            Some(&who.access),
            &body,
        )
        .await,
    )
    .await
}

async fn current(app: &TestApp, a: &Agenda, who: &Session) -> (StatusCode, Value) {
    json_of(
        app.get(
            &format!("/api/clinics/{}/cash", a.clinic),
            Some(&who.access),
        )
        .await,
    )
    .await
}

fn total<'v>(session: &'v Value, method: &str) -> &'v Value {
    session["totals"]
        .as_array()
        .and_then(|t| t.iter().find(|x| x["method"] == method))
        .unwrap_or_else(|| panic!("no {method} total: {session}"))
}

async fn balances(app: &TestApp, a: &Agenda) -> std::collections::BTreeMap<String, i64> {
    let (status, ledger) = json_of(
        app.get(
            &format!("/api/clinics/{}/ledger", a.clinic),
            Some(&a.admin.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ledger}");
    ledger["balances"]
        .as_array()
        .expect("balances")
        .iter()
        .map(|b| {
            (
                b["account"].as_str().expect("account").to_string(),
                b["balance_cents"].as_i64().expect("cents"),
            )
        })
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_cash_register_closes_with_each_methods_totals_and_the_drawer_difference() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let (recep, admin) = (&a.recep, &a.admin);

    // Nothing open yet: the current session is null and nothing can be recorded.
    let (status, none) = current(&app, &a, recep).await;
    assert_eq!(
        (status, none.clone()),
        (StatusCode::OK, Value::Null),
        "{none}"
    );
    let pay = json!({"kind": "payment", "method": "cash", "amount_cents": 15_000});
    let (status, body) = post(&app, &a, recep, "/movements", pay.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_open_cash_session"))
    );

    let (status, opened) = post(&app, &a, recep, "/open", json!({"opening_cents": 10_000})).await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let (status, again) = post(&app, &a, recep, "/open", json!({"opening_cents": 0})).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("cash_session_open"))
    );

    let appt = json_of(
        book(
            &app,
            &a.clinic,
            recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": a.joao.first_record(),
                   "starts_at": a.at(9, 0)}),
        )
        .await,
    )
    .await
    .1;
    let with_appt = json!({"kind": "payment", "method": "cash", "amount_cents": 15_000,
        "appointment_id": appt["id"], "description": "Consulta João"});
    let (status, m) = post(&app, &a, recep, "/movements", with_appt).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    assert_eq!(m["description"], "Consulta João");
    // Bad input is refused with its reason, and changes nothing.
    for (body, code) in [
        (
            json!({"kind": "payment", "method": "card", "amount_cents": 20_000}),
            "nsu_required",
        ),
        (
            json!({"kind": "payment", "method": "cheque", "amount_cents": 100}),
            "invalid_method",
        ),
        (
            json!({"kind": "payment", "method": "cash", "amount_cents": 0}),
            "invalid_amount",
        ),
        (
            json!({"kind": "gift", "method": "cash", "amount_cents": 100}),
            "invalid_kind",
        ),
        (
            json!({"kind": "payment", "method": "card", "amount_cents": 100, "nsu": "12 34;"}),
            "invalid_nsu",
        ),
        (
            json!({"kind": "payment", "method": "cash", "amount_cents": 100,
                "appointment_id": uuid::Uuid::now_v7()}),
            "unknown_appointment",
        ),
    ] {
        let (status, err) = post(&app, &a, recep, "/movements", body).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{err}"
        );
    }
    for body in [
        json!({"kind": "payment", "method": "card", "amount_cents": 20_000, "nsu": "004512"}),
        json!({"kind": "payment", "method": "pix", "amount_cents": 5_000}),
        json!({"kind": "refund", "method": "cash", "amount_cents": 2_000, "description": "troco a mais"}),
    ] {
        let (status, m) = post(&app, &a, recep, "/movements", body).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
    }
    let (_, open) = current(&app, &a, recep).await;
    assert_eq!(
        open["movements"].as_array().map(Vec::len),
        Some(4),
        "{open}"
    );
    assert_eq!(total(&open, "cash")["net_cents"], 13_000);
    assert_eq!(total(&open, "card")["net_cents"], 20_000);
    assert_eq!(total(&open, "pix")["net_cents"], 5_000);
    assert_eq!(
        open["expected_cash_cents"], 23_000,
        "opening + cash in − cash out"
    );

    // Others do not see nor touch the receptionist's drawer.
    let (status, _) = current(&app, &a, &a.joao).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = post(&app, &a, &a.helena, "/open", json!({"opening_cents": 0})).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "professionals do not run the cash register"
    );
    let (_, admins) = current(&app, &a, admin).await;
    assert_eq!(admins, Value::Null, "each person has their own drawer");

    // Close with R$ 5,00 missing.
    let (status, report) = post(
        &app,
        &a,
        recep,
        "/close",
        json!({"counted_cents": 22_500,
        "note": "faltou troco"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["expected_cash_cents"], 23_000);
    assert_eq!(report["counted_cents"], 22_500);
    assert_eq!(report["difference_cents"], -500);
    assert!(report["closed_at"].is_string());
    let (status, body) = post(&app, &a, recep, "/movements", pay.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_open_cash_session"))
    );
    assert_eq!(current(&app, &a, recep).await.1, Value::Null);

    // The ledger: each method's account, revenue, and the shortage; it balances.
    let b = balances(&app, &a).await;
    assert_eq!(b.get("asset:cash_drawer"), Some(&12_500), "{b:?}");
    assert_eq!(b.get("asset:card_receivable"), Some(&20_000), "{b:?}");
    assert_eq!(b.get("asset:pix_psp"), Some(&5_000), "{b:?}");
    assert_eq!(b.get("income:appointments"), Some(&-38_000), "{b:?}");
    assert_eq!(b.get("expense:cash_shortage"), Some(&500), "{b:?}");
    assert_eq!(b.values().sum::<i64>(), 0);

    // The administrator reads the day's report and corrects the closed session.
    let today = app
        .clock
        .now()
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive();
    let (status, day) = json_of(
        app.get(
            &format!("/api/clinics/{}/cash/sessions?date={today}", a.clinic),
            Some(&admin.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{day}");
    let session = day
        .as_array()
        .and_then(|l| l.iter().find(|s| s["id"] == opened["id"]))
        .cloned()
        .unwrap_or_else(|| panic!("the session is in the day's report: {day}"));
    assert_eq!(session["difference_cents"], -500);
    let (status, _) = json_of(
        app.get(
            &format!("/api/clinics/{}/cash/sessions?date={today}", a.clinic),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the day's report is the administrator's"
    );
    let adjust = format!(
        "/sessions/{}/adjustments",
        opened["id"].as_str().expect("id")
    );
    let found =
        json!({"method": "cash", "amount_cents": 500, "reason": "nota de R$ 5 achada no cofre"});
    let (status, _) = post(&app, &a, recep, &adjust, found.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = post(
        &app,
        &a,
        admin,
        &adjust,
        json!({"method": "cash", "amount_cents": 500, "reason": "ok"}),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_reason"))
    );
    let (status, adj) = post(&app, &a, admin, &adjust, found).await;
    assert_eq!(status, StatusCode::CREATED, "{adj}");
    let b = balances(&app, &a).await;
    assert_eq!(b.get("asset:cash_drawer"), Some(&13_000), "{b:?}");
    assert_eq!(b.values().sum::<i64>(), 0);
    // An open session is not adjusted: its own movements correct it.
    let (_, reopened) = post(&app, &a, recep, "/open", json!({"opening_cents": 0})).await;
    let (status, err) = post(
        &app,
        &a,
        admin,
        &format!(
            "/sessions/{}/adjustments",
            reopened["id"].as_str().expect("id")
        ),
        json!({"method": "cash", "amount_cents": 100, "reason": "teste de ajuste"}),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::CONFLICT, Some("cash_session_open"))
    );

    // Every step is in the audit trail.
    let audit = app.state.store.audit_page(0, 100_000).await.expect("audit");
    let count = |action: &str| audit.iter().filter(|r| r.action == action).count();
    assert_eq!(count("cash.opened"), 2);
    assert_eq!(count("cash.movement"), 4);
    assert_eq!(count("cash.closed"), 1);
    assert_eq!(count("cash.adjusted"), 1);

    // The database keeps a closed session and its movements as they were.
    let sid = opened["id"].as_str().expect("id");
    let id = uuid::Uuid::parse_str(sid).expect("uuid");
    let attempts = [
        "UPDATE cash_sessions SET counted_cents = 23000 WHERE id = $1",
        "DELETE FROM cash_sessions WHERE id = $1",
        "UPDATE cash_movements SET amount_cents = 1 WHERE session_id = $1",
        "DELETE FROM cash_movements WHERE session_id = $1",
    ];
    for sql in attempts {
        let refused = if app.is_postgres() {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
                .await
                .expect("connect");
            sqlx::query(sql).bind(id).execute(&mut c).await.is_err()
        } else {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url)
                .await
                .expect("connect");
            sqlx::query(sql).bind(id).execute(&mut c).await.is_err()
        };
        assert!(refused, "the database accepted: {sql}");
    }
    let (_, day) = json_of(
        app.get(
            &format!("/api/clinics/{}/cash/sessions?date={today}", a.clinic),
            Some(&admin.access),
        )
        .await,
    )
    .await;
    let kept = day
        .as_array()
        .and_then(|l| l.iter().find(|s| s["id"] == sid))
        .cloned()
        .expect("kept");
    assert_eq!(kept["counted_cents"], 22_500);
    assert_eq!(
        kept["movements"].as_array().map(Vec::len),
        Some(5),
        "4 movements and the adjustment"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_payment_at_the_desk_marks_the_appointment_paid_live_for_reception_and_its_patient() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let recep = &a.recep;
    let appt = json_of(
        book(
            &app,
            &a.clinic,
            recep,
            json!({"professional_user_id": Agenda::id(&a.helena), "patient_id": a.joao.first_record(),
                   "starts_at": a.at(10, 0)}),
        )
        .await,
    )
    .await
    .1;
    let appt_id = appt["id"].as_str().expect("id").to_string();
    let payment_path = format!("/api/clinics/{}/appointments/{appt_id}/payment", a.clinic);
    let payment = |who: &Session| {
        let (app, path, token) = (&app, payment_path.clone(), who.access.clone());
        async move { json_of(app.get(&path, Some(&token)).await).await.1 }
    };
    assert_eq!(payment(recep).await["status"], "unpaid");

    let mut desk = app.ws(recep).await;
    desk.join(&format!("clinic:{}:agenda", a.clinic), None)
        .await;
    let mut patient = app.ws(&a.joao).await;
    patient
        .join(
            &format!("user:{}", a.joao.me["id"].as_str().expect("id")),
            None,
        )
        .await;

    let (status, _) = post(&app, &a, recep, "/open", json!({"opening_cents": 0})).await;
    assert_eq!(status, StatusCode::CREATED);
    let by_card = json!({"kind": "payment", "method": "card", "amount_cents": 18_000,
        "nsu": "123456", "appointment_id": appt_id});
    let (status, m) = post(&app, &a, recep, "/movements", by_card).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");

    // Reception's agenda turns "Pago" live, and so does the patient's list.
    let pushed = desk
        .push_matching("payment.updated", |e| e["payment"]["status"] == "paid")
        .await;
    assert_eq!(pushed["appointment_id"], appt_id.as_str());
    assert_eq!(pushed["payment"]["paid_cents"], 18_000);
    patient
        .push_matching("payment.updated", |e| e["payment"]["status"] == "paid")
        .await;
    let p = payment(&a.joao).await;
    assert_eq!(
        (p["status"].as_str(), p["paid_cents"].as_i64()),
        (Some("paid"), Some(18_000)),
        "{p}"
    );
    let (status, list) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/payments?from={}&to={}",
                a.clinic, a.day, a.day
            ),
            Some(&recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let row = list
        .as_array()
        .expect("list")
        .iter()
        .find(|r| r["appointment_id"] == appt_id.as_str())
        .unwrap_or_else(|| panic!("the desk payment is in the agenda's list: {list}"));
    assert_eq!(row["status"], "paid");

    // Paid at the desk: the portal no longer opens a Pix charge for it.
    let (status, refused) = json_of(
        app.post(
            &format!("{payment_path}/pix"),
            Some(&a.joao.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_paid")),
        "{refused}"
    );

    // Part of it given back in cash: partially refunded, live.
    let back = json!({"kind": "refund", "method": "cash", "amount_cents": 3_000,
        "appointment_id": appt_id, "description": "Desconto de retorno"});
    let (status, m) = post(&app, &a, recep, "/movements", back).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    desk.push_matching("payment.updated", |e| {
        e["payment"]["status"] == "partially_refunded"
    })
    .await;
    let p = payment(recep).await;
    assert_eq!(
        (p["paid_cents"].as_i64(), p["refunded_cents"].as_i64()),
        (Some(18_000), Some(3_000)),
        "{p}"
    );

    // A movement without an appointment announces nothing.
    let loose = json!({"kind": "payment", "method": "cash", "amount_cents": 500,
        "description": "Cópia de exame"});
    let (status, _) = post(&app, &a, recep, "/movements", loose).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        desk.try_push("payment.updated", std::time::Duration::from_millis(400))
            .await
            .is_none()
    );
}
