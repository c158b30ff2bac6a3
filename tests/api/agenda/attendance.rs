//! The attendance report (clinic admins): per professional, how the period's appointments
//! ended, the no-show rate, and the occupancy of the agenda (booked over offered minutes,
//! from the weekly hours minus a closure).

use chrono::{Duration, NaiveDate, TimeZone as _};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

fn at(day: NaiveDate, h: u32) -> DateTime<Utc> {
    chrono_tz::America::Sao_Paulo
        .from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("time"))
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc)
}

async fn booked(app: &TestApp, a: &Agenda, patient: &Value, starts: DateTime<Utc>) -> Value {
    let (status, appt) = json_of(
        book(app, &a.clinic, &a.recep, json!({
            "professional_user_id": Agenda::id(&a.rafael), "patient_id": patient, "starts_at": starts}))
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{appt}");
    appt
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn attendance_counts_how_visits_ended_and_how_full_the_agenda_was() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let day = a.day + Duration::days(9);
    let maria = maria_in(&app, &a.clinic, &a.recep).await;
    let joao = Agenda::patient(&a.joao);
    let seen = booked(&app, &a, &maria, at(day, 10)).await;
    let absent = booked(&app, &a, &joao, at(day, 11)).await;
    let dropped = booked(&app, &a, &maria, at(day, 14)).await;
    let minutes = |v: &Value| {
        let t = |k: &str| {
            v[k].as_str()
                .expect("time")
                .parse::<DateTime<Utc>>()
                .expect("time")
        };
        (t("ends_at") - t("starts_at")).num_minutes()
    };
    let length = minutes(&seen) + minutes(&absent);

    // Rafael sees the first, the second does not come, the third is cancelled, and his
    // afternoon from 16:00 is closed.
    for step in ["start", "finish"] {
        let resp = app
            .post(
                &format!("/api/me/day/{}/{step}", seen["id"].as_str().expect("id")),
                Some(&a.rafael.access),
                &json!({}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{step}");
    }
    let base = format!("/api/clinics/{}/appointments", a.clinic);
    let resp = app
        .post(
            &format!("{base}/{}/status", absent["id"].as_str().expect("id")),
            Some(&a.recep.access),
            &json!({"status": "no_show"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .post(
            &format!("{base}/{}/cancel", dropped["id"].as_str().expect("id")),
            Some(&a.recep.access),
            &json!({"reason": "Paciente pediu"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = app
        .post(
            &format!("/api/clinics/{}/exceptions", a.clinic),
            Some(&a.admin.access),
            &json!({"kind": "closed", "starts_at": at(day, 16), "ends_at": at(day, 18),
                    "professional_user_id": Agenda::id(&a.rafael), "reason": "Curso"}),
        )
        .await;
    assert!(resp.status().is_success(), "{:?}", resp.text().await);

    let path = format!(
        "/api/clinics/{}/reports/attendance?from={day}&to={day}",
        a.clinic
    );
    let (status, report) = json_of(app.get(&path, Some(&a.admin.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["time_zone"], "America/Sao_Paulo");
    let of = |id: &Value| {
        report["professionals"]
            .as_array()
            .expect("professionals")
            .iter()
            .find(|p| &p["user_id"] == id)
            .cloned()
            .expect("listed")
    };
    let rafael = of(&Agenda::id(&a.rafael));
    assert_eq!(rafael["appointments"], 2, "{rafael}");
    assert_eq!(rafael["done"], 1);
    assert_eq!(rafael["no_show"], 1);
    assert_eq!(rafael["cancelled"], 1);
    assert_eq!(rafael["no_show_rate"], 0.5);
    assert_eq!(rafael["booked_minutes"], length);
    // 08:00–18:00 less the closed 16:00–18:00.
    assert_eq!(rafael["offered_minutes"], 480);
    let occupancy = rafael["occupancy"].as_f64().expect("occupancy");
    assert!((occupancy - length as f64 / 480.0).abs() < 1e-9, "{rafael}");
    // Helena's hours here count too; nobody decided yet means no rate, not 0 %.
    let helena = of(&Agenda::id(&a.helena));
    assert_eq!(helena["offered_minutes"], 600);
    assert!(helena["no_show_rate"].is_null(), "{helena}");
    assert!(report["total"]["offered_minutes"].as_i64().expect("total") >= 1080);

    // Admins only, and a period the report can cover.
    assert_error(
        app.get(&path, Some(&a.recep.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let long = format!(
        "/api/clinics/{}/reports/attendance?from={day}&to={}",
        a.clinic,
        day + Duration::days(400)
    );
    assert_error(
        app.get(&long, Some(&a.admin.access)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_period",
    )
    .await;
}
