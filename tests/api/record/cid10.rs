//! The CID-10 search (by code, by words with and without accents) and encounter diagnoses
//! checked against the table.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::*;
use crate::helpers::*;

async fn search(app: &TestApp, who: &Session, q: &str) -> Value {
    let (status, body) = json_of(
        app.client
            .get(app.url("/api/cid10"))
            .query(&[("q", q)])
            .bearer_auth(&who.access)
            .send()
            .await
            .expect("search"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn codes(body: &Value) -> Vec<&str> {
    body["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn cid10_is_searched_by_code_with_or_without_the_dot_and_by_words_with_or_without_accents() {
    let app = spawn_app().await;
    let r = fixture(&app, 21).await;
    let helena = &r.a.helena;

    // By code: exact first, with or without the dot, any case.
    for q in ["J11.1", "j111", "j11.1"] {
        let body = search(&app, helena, q).await;
        assert_eq!(codes(&body), ["J11.1"], "{q}: {body}");
        assert_eq!(body["results"][0]["kind"], "subcategory");
        assert!(
            body["results"][0]["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("Influenza [gripe]")),
            "{body}"
        );
    }
    let body = search(&app, helena, "i10").await;
    assert_eq!(codes(&body)[0], "I10", "{body}");
    assert_eq!(
        body["results"][0]["description"],
        "Hipertensão essencial (primária)"
    );

    // By words: accents and case do not matter; the category comes first.
    let accented = search(&app, helena, "Infarto agudo do miocárdio").await;
    let plain = search(&app, helena, "infarto agudo miocardio").await;
    assert_eq!(codes(&accented), codes(&plain));
    assert_eq!(codes(&plain)[0], "I21", "{plain}");
    assert!(codes(&plain).contains(&"I21.9"));
    // While typing: the last word is a prefix.
    let typing = search(&app, helena, "hipertensao essenc").await;
    assert_eq!(codes(&typing)[0], "I10", "{typing}");
    // Every word is required.
    let none = search(&app, helena, "infarto xilofone").await;
    assert_eq!(none["results"], json!([]));
    assert_eq!(none["total"], 0);
    // A limit, and the count beyond it.
    let (status, few) = json_of(
        app.get("/api/cid10?q=diabetes&limit=3", Some(&helena.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(codes(&few).len(), 3);
    assert!(few["total"].as_u64().is_some_and(|t| t > 3), "{few}");
    assert_error(
        app.get("/api/cid10?q=diabetes&limit=500", Some(&helena.access))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    )
    .await;

    // Professionals only: not the receptionist, not a patient, not anonymous.
    for who in [&r.a.recep, &r.a.joao] {
        assert_error(
            app.get("/api/cid10?q=gripe", Some(&who.access)).await,
            StatusCode::FORBIDDEN,
            "not_a_professional",
        )
        .await;
    }
    assert_eq!(
        app.get("/api/cid10?q=gripe", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_unknown_cid10_is_refused_and_a_known_one_is_stored_with_its_description() {
    let app = spawn_app().await;
    let r = fixture(&app, 22).await;
    let helena = &r.a.helena;
    let mut body = content("Tosse");
    body["diagnoses"] = json!([{"code": "J11.7", "text": "?"}]);
    let (status, e) = create(&app, &r, helena, json!({"content": body})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["code"], "unknown_cid10");

    let mut body = content("Tosse");
    body["diagnoses"] = json!([{"code": "i10", "text": "HAS", "description": "inventada"}]);
    let (status, e) = create(&app, &r, helena, json!({"content": body})).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    assert_eq!(e["content"]["diagnoses"][0]["code"], "I10");
    assert_eq!(
        e["content"]["diagnoses"][0]["description"],
        "Hipertensão essencial (primária)"
    );
    // Saving a draft checks again.
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );
    let mut saved = e["content"].clone();
    saved["diagnoses"] = json!([{"code": "U99", "text": ""}, {"code": "J11.9", "text": ""}]);
    assert_error(
        put(
            &app,
            &path,
            helena,
            &json!({"version": e["version"], "content": saved}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_cid10",
    )
    .await;
}
