//! The problem list and vital signs: lifecycle, plausibility, BMI, the timeline, and who
//! may touch them.

use atende::clock::Clock as _;
use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

async fn patch(app: &TestApp, path: &str, who: &Session, body: &Value) -> reqwest::Response {
    app.client
        .patch(app.url(path))
        .bearer_auth(&who.access)
        .json(body)
        .send()
        .await
        .expect("patch")
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_problem_is_added_with_its_cid10_resolved_and_reactivated_and_audited() {
    let app = spawn_app().await;
    let r = fixture(&app, 23).await;
    let helena = &r.a.helena;
    let problems = format!("{}/problems", r.record());

    let (status, p) = json_of(
        app.post(
            &problems,
            Some(&helena.access),
            &json!({"code": "e119", "onset_date": "2019-05-01", "notes": "Em uso de metformina"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["code"], "E11.9");
    assert_eq!(
        p["description"],
        "Diabetes mellitus não-insulino-dependente - sem complicações"
    );
    assert_eq!(p["status"], "active");
    assert_eq!(p["onset_date"], "2019-05-01");
    assert!(p["resolved_at"].is_null());
    let id = p["id"].as_str().expect("id").to_string();

    // Unknown codes, bad shapes and onsets in the future are refused.
    assert_error(
        app.post(&problems, Some(&helena.access), &json!({"code": "J11.9"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_cid10",
    )
    .await;
    let resp = app
        .post(
            &problems,
            Some(&helena.access),
            &json!({"code": "diabetes"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let future = (app.clock.now() + Duration::days(3)).date_naive();
    let e = assert_error(
        app.post(
            &problems,
            Some(&helena.access),
            &json!({"code": "I10", "onset_date": future}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_onset_date",
    )
    .await;
    assert_eq!(e["field"], "onset_date");

    // Resolved (with when), then active again.
    app.clock.advance(Duration::hours(2));
    let (status, resolved) = json_of(
        patch(
            &app,
            &format!("{problems}/{id}"),
            helena,
            &json!({"status": "resolved"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["status"], "resolved");
    assert!(resolved["resolved_at"].is_string());
    let (_, again) = json_of(
        patch(
            &app,
            &format!("{problems}/{id}"),
            helena,
            &json!({"status": "active"}),
        )
        .await,
    )
    .await;
    assert_eq!(again["status"], "active");
    assert!(again["resolved_at"].is_null());
    let missing = format!("{problems}/{}", uuid::Uuid::now_v7());
    assert_eq!(
        patch(&app, &missing, helena, &json!({"status": "resolved"}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let (_, list) = json_of(app.get(&problems, Some(&helena.access)).await).await;
    let list = list["problems"].as_array().expect("problems");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["notes"], "Em uso de metformina");
    assert_eq!(list[0]["recorded_by_name"], helena.me["full_name"]);
    let rows = actions(&app).await;
    assert!(did(&rows, "problem.added", helena) && did(&rows, "problem.updated", helena));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn implausible_vitals_are_refused_naming_the_field_and_bmi_uses_the_latest_height() {
    let app = spawn_app().await;
    let r = fixture(&app, 24).await;
    let helena = &r.a.helena;
    let vitals = format!("{}/vitals", r.record());

    for (values, field) in [
        (
            json!({"systolic_mmhg": 1200, "diastolic_mmhg": 80}),
            "systolic_mmhg",
        ),
        (json!({"spo2_percent": 101}), "spo2_percent"),
        (json!({"temperature_c": 3.7}), "temperature_c"),
        (json!({"weight_kg": 72000}), "weight_kg"),
        (json!({"heart_rate_bpm": 0}), "heart_rate_bpm"),
        (
            json!({"systolic_mmhg": 80, "diastolic_mmhg": 120}),
            "diastolic_mmhg",
        ),
    ] {
        let e = assert_error(
            app.post(&vitals, Some(&helena.access), &json!({"values": values}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "implausible_vital",
        )
        .await;
        assert_eq!(e["field"], field, "{e}");
        assert!(
            e["message"].as_str().is_some_and(|m| m.contains(field)),
            "{e}"
        );
    }
    assert_error(
        app.post(&vitals, Some(&helena.access), &json!({"values": {}}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_vitals",
    )
    .await;
    assert_error(
        app.post(
            &vitals,
            Some(&helena.access),
            &json!({"values": {"systolic_mmhg": 120}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "incomplete_blood_pressure",
    )
    .await;
    let resp = app
        .post(
            &vitals,
            Some(&helena.access),
            &json!({"values": {"weight_kg": 70, "pulse": 80}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // The height alone, then a weight a day later: the BMI uses that height.
    let (status, first) = json_of(
        app.post(
            &vitals,
            Some(&helena.access),
            &json!({"values": {"height_cm": 175}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(first["bmi"].is_null());
    app.clock.advance(Duration::days(1));
    let (status, second) = json_of(
        app.post(
            &vitals,
            Some(&helena.access),
            &json!({"values": {"weight_kg": 70, "systolic_mmhg": 130, "diastolic_mmhg": 85,
                    "heart_rate_bpm": 72, "temperature_c": 36.6, "spo2_percent": 98,
                    "glucose_mg_dl": 99}, "notes": "Em jejum"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    assert_eq!(second["bmi"], 22.9);
    assert_eq!(second["bmi_height_cm"], 175.0);
    assert_eq!(second["values"]["systolic_mmhg"], 130.0);
    // A set with its own height uses it.
    let (_, third) = json_of(
        app.post(
            &vitals,
            Some(&helena.access),
            &json!({"values": {"weight_kg": 80, "height_cm": 200}}),
        )
        .await,
    )
    .await;
    assert_eq!(third["bmi"], 20.0);

    let (_, list) = json_of(app.get(&vitals, Some(&helena.access)).await).await;
    let list = list["vitals"].as_array().expect("vitals");
    assert_eq!(list.len(), 3);
    assert_eq!(list[1]["notes"], "Em jejum");
    assert_eq!(list[1]["values"]["glucose_mg_dl"], 99.0);

    // On the timeline, at the time they were measured.
    let (_, page) = json_of(
        app.get(&format!("{}/timeline", r.record()), Some(&helena.access))
            .await,
    )
    .await;
    let kinds: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["type"].as_str())
        .collect();
    assert_eq!(kinds, ["vitals", "vitals", "vitals"], "{page}");
    assert_eq!(page["items"][1]["vitals"]["bmi"], 22.9);
    assert!(did(&actions(&app).await, "vitals.added", helena));
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn receptionists_patients_and_other_clinics_are_refused_on_problems_and_vitals() {
    let app = spawn_app().await;
    let r = fixture(&app, 25).await;
    let problems = format!("{}/problems", r.record());
    let vitals = format!("{}/vitals", r.record());
    let other = app.login("admin@boavista.demo", PW).await;
    for path in [&problems, &vitals] {
        assert_error(
            app.get(path, Some(&r.a.recep.access)).await,
            StatusCode::FORBIDDEN,
            "no_clinical_access",
        )
        .await;
        assert_error(
            app.get(path, Some(&other.access)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        assert_eq!(
            app.get(path, Some(&r.a.joao.access)).await.status(),
            StatusCode::FORBIDDEN
        );
    }
    for (path, body) in [
        (&problems, json!({"code": "I10"})),
        (&vitals, json!({"values": {"weight_kg": 70}})),
    ] {
        assert_eq!(
            app.post(path, Some(&r.a.recep.access), &body)
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            app.post(path, Some(&other.access), &body).await.status(),
            StatusCode::FORBIDDEN
        );
        // The clinic's admin reads with the glass but does not write.
        assert_error(
            app.post(path, Some(&r.a.admin.access), &body).await,
            StatusCode::FORBIDDEN,
            "not_a_professional",
        )
        .await;
        // A professional of the clinic with no care relationship: refused until the glass.
        assert_error(
            app.post(path, Some(&r.a.rafael.access), &body).await,
            StatusCode::FORBIDDEN,
            "no_care_relationship",
        )
        .await;
    }
    // Helena's record at the other clinic does not exist.
    let there = format!(
        "/api/clinics/{}/patients/{}/record/problems",
        r.a.boavista, r.patient
    );
    assert_eq!(
        app.get(&there, Some(&r.a.helena.access)).await.status(),
        StatusCode::NOT_FOUND
    );
}
