//! The price table: a professional's own price wins over the service's; only clinic
//! administrators change prices; an appointment knows what it costs and who pays.

use reqwest::StatusCode;
use serde_json::json;

use super::money_fixture;
use crate::agenda::Agenda;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_professionals_own_price_wins_and_only_administrators_set_prices() {
    let app = spawn_app().await;
    let m = money_fixture(&app).await;
    let a = &m.a;
    let appt = m.appointment(&app, 10).await;
    let p = m.payment(&app, &a.joao, &appt).await;
    assert_eq!(p["price_cents"], 25_000, "{p}");
    assert_eq!(p["price_source"], "service");
    assert_eq!(p["payer"], "patient");
    assert_eq!(p["status"], "unpaid");

    let own = format!(
        "/api/clinics/{}/prices/{}/professionals/{}",
        a.clinic,
        m.service,
        Agenda::id(&a.helena).as_str().expect("id")
    );
    let put = |who: &Session, cents: i64| {
        app.client
            .put(app.url(&own))
            .bearer_auth(who.access.clone())
            .json(&json!({"price_cents": cents}))
            .send()
    };
    // Reception reads prices but does not set them.
    assert_error(
        put(&a.recep, 30_000).await.expect("put"),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        put(&a.admin, -1).await.expect("put"),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_price",
    )
    .await;
    let resp = put(&a.admin, 30_000).await.expect("put");
    assert_eq!(resp.status(), StatusCode::OK);

    let (status, table) = json_of(
        app.get(
            &format!("/api/clinics/{}/prices", a.clinic),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{table}");
    let line = table
        .as_array()
        .expect("table")
        .iter()
        .find(|l| l["service_id"] == m.service.as_str())
        .expect("service listed");
    assert_eq!(line["price_cents"], 25_000);
    assert_eq!(line["professionals"][0]["price_cents"], 30_000);
    // Patients do not read the clinic's price table…
    assert_error(
        app.get(
            &format!("/api/clinics/{}/prices", a.clinic),
            Some(&a.joao.access),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // …but they do read what their own appointment costs, and no one else's.
    let p = m.payment(&app, &a.joao, &appt).await;
    assert_eq!(
        (p["price_cents"].as_i64(), p["price_source"].as_str()),
        (Some(30_000), Some("professional"))
    );
    assert_error(
        app.get(&m.payment_path(&appt), Some(&a.maria.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    let resp = app
        .client
        .delete(app.url(&own))
        .bearer_auth(&a.admin.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        m.payment(&app, &a.recep, &appt).await["price_cents"],
        25_000
    );
    let resp = app
        .client
        .delete(app.url(&own))
        .bearer_auth(&a.admin.access)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    // Both changes are in the audit log.
    let rows = app.state.store.audit_page(0, 10_000).await.expect("audit");
    assert!(rows.iter().any(|r| r.action == "price.set"));
    assert!(rows.iter().any(|r| r.action == "price.removed"));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_free_service_has_nothing_to_pay_and_a_clinic_without_pix_says_so() {
    let app = spawn_app().await;
    let a = crate::agenda::agenda_fixture(&app).await;
    let bv_admin = app.login("admin@boavista.demo", PW).await;
    let bv_recep = app.login("recepcao@boavista.demo", PW).await;
    let service = |clinic: &str, who: &Session, name: &str, cents: i64| {
        let path = format!("/api/clinics/{clinic}/services");
        let body = json!({"name": name, "duration_minutes": 30, "price_cents": cents});
        let token = who.access.clone();
        let app = &app;
        async move {
            let (status, s) = json_of(app.post(&path, Some(&token), &body).await).await;
            assert_eq!(status, StatusCode::CREATED, "{s}");
            s["id"].clone()
        }
    };
    let free = service(&a.clinic, &a.admin, "Retorno", 0).await;
    let paid = service(&a.boavista, &bv_admin, "Consulta", 20_000).await;
    let booked = |clinic: String,
                  who: Session,
                  patient: serde_json::Value,
                  s: serde_json::Value,
                  h: u32| {
        let app = &app;
        let at = a.at(h, 0);
        let helena = Agenda::id(&a.helena);
        async move {
            let (status, appt) = json_of(
                crate::agenda::book(app, &clinic, &who,
                    json!({"professional_user_id": helena, "patient_id": patient, "service_id": s, "starts_at": at}))
                .await,
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{appt}");
            appt["id"].as_str().expect("id").to_string()
        }
    };
    let in_aurora = booked(
        a.clinic.clone(),
        a.recep.clone(),
        Agenda::patient(&a.joao),
        free,
        9,
    )
    .await;
    let maria_bv = serde_json::Value::String(a.maria.record_at(&a.boavista));
    let in_boavista = booked(a.boavista.clone(), bv_recep, maria_bv, paid, 11).await;
    let pix = |c: &str, id: &str| format!("/api/clinics/{c}/appointments/{id}/payment/pix");
    assert_error(
        app.post(
            &pix(&a.clinic, &in_aurora),
            Some(&a.joao.access),
            &json!({}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing_to_pay",
    )
    .await;
    assert_error(
        app.post(
            &pix(&a.boavista, &in_boavista),
            Some(&a.maria.access),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
        "pix_not_configured",
    )
    .await;
    // Someone else's appointment: refused before anything else.
    assert_error(
        app.post(
            &pix(&a.boavista, &in_boavista),
            Some(&a.joao.access),
            &json!({}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
