//! Allergies and the timeline.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn allergies_are_added_listed_and_inactivated_and_the_timeline_pages_newest_first() {
    let app = spawn_app().await;
    let r = fixture(&app, 6).await;
    let helena = &r.a.helena;
    let allergies = format!("{}/allergies", r.record());
    let (status, a) = json_of(
        app.post(
            &allergies,
            Some(&helena.access),
            &json!({"substance": "Dipirona", "reaction": "Urticária", "severity": "severe"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    assert_eq!(a["status"], "active");
    let resp = app
        .post(
            &allergies,
            Some(&helena.access),
            &json!({"substance": "Látex", "severity": "terrible"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = app
        .client
        .patch(app.url(&format!("{allergies}/{}", a["id"].as_str().expect("id"))))
        .bearer_auth(&helena.access)
        .json(&json!({"status": "inactive"}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, list) = json_of(app.get(&allergies, Some(&helena.access)).await).await;
    assert_eq!(list["allergies"][0]["substance"], "Dipirona");
    assert_eq!(list["allergies"][0]["status"], "inactive");
    assert_eq!(list["allergies"][0]["severity"], "severe");
    let rows = actions(&app).await;
    assert!(did(&rows, "allergy.added", helena) && did(&rows, "allergy.updated", helena));
    // The receptionist reads no allergy either.
    assert_error(
        app.get(&allergies, Some(&r.a.recep.access)).await,
        StatusCode::FORBIDDEN,
        "no_clinical_access",
    )
    .await;

    // Three encounters, an hour apart on the clock, and an addendum.
    let mut ids = Vec::new();
    for i in 0..3 {
        let (_, e) = create(
            &app,
            &r,
            helena,
            json!({"content": content(&format!("Retorno {i}"))}),
        )
        .await;
        ids.push(e["id"].as_str().expect("id").to_string());
        app.clock.advance(Duration::hours(1));
    }
    let first = format!("{}/encounters/{}", r.record(), ids[0]);
    app.post(&format!("{first}/sign"), Some(&helena.access), &json!({}))
        .await;
    let (status, _) = json_of(
        app.post(
            &format!("{first}/addenda"),
            Some(&helena.access),
            &json!({"text": "Exames normais."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let timeline = format!("{}/timeline", r.record());
    let (status, page) = json_of(
        app.get(&format!("{timeline}?limit=2"), Some(&helena.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "addendum");
    assert_eq!(
        items[1]["encounter"]["content"]["chief_complaint"],
        "Retorno 2"
    );
    let before = page["next_before"].as_str().expect("next page");
    let (_, rest) = json_of(
        app.get(
            &format!("{timeline}?limit=10&before={}", urlencode(before)),
            Some(&helena.access),
        )
        .await,
    )
    .await;
    let complaints: Vec<&str> = rest["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["encounter"]["content"]["chief_complaint"].as_str())
        .collect();
    assert_eq!(complaints, ["Retorno 1", "Retorno 0"]);
    assert!(rest["next_before"].is_null());
    assert_error(
        app.get(&format!("{timeline}?limit=0"), Some(&helena.access))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}
