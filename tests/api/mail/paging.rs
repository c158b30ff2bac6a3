//! The outbox view pages through a clinic's messages, newest first, 200 at a time: every
//! message once, in order, whatever the filter, and nothing of another clinic.

use serde_json::{Value, json};

use super::messages;
use crate::agenda::{Agenda, agenda_fixture};
use crate::helpers::*;

/// Queue `count` messages of `clinic` to `patient` (one transaction: many share a time).
async fn queue_for(app: &TestApp, clinic: &str, patient: &Value, count: usize) {
    let clinic: atende::domain::ClinicId = serde_json::from_value(json!(clinic)).expect("clinic");
    let patient: atende::domain::PatientId = serde_json::from_value(patient.clone()).expect("id");
    let mut tx = app.state.store.begin().await.expect("tx");
    for n in 0..count {
        let m = atende::store::outbox::NewMessage {
            clinic: Some(clinic),
            patient: Some(patient),
            channel: "email",
            template: "appointment_booked".into(),
            ..Default::default()
        };
        app.state
            .store
            .insert_message(&mut tx, &m, &json!({"n": n}))
            .await
            .expect("insert");
    }
    tx.commit().await.expect("commit");
}

/// Every page of `query` (as `who`), following `before` until a short page.
async fn all_pages(app: &TestApp, clinic: &str, who: &Session, query: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut before = String::new();
    loop {
        let q = if before.is_empty() {
            query.to_string()
        } else {
            format!("{query}&before={before}")
        };
        let page = messages(app, clinic, who, &q).await;
        let full = page.len() == 200;
        if let Some(last) = page.last() {
            before = last["id"].as_str().expect("id").to_string();
        }
        pages.push(page);
        if !full {
            return pages;
        }
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_outbox_pages_through_every_message_once_newest_first() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let joao = Agenda::patient(&a.joao);
    let maria = Agenda::patient(&a.maria);
    let joao_id = joao.as_str().expect("id");
    let count = |pages: &[Vec<Value>]| pages.iter().map(Vec::len).sum::<usize>();
    // What the fixture queued already.
    let had = count(&all_pages(&app, &a.clinic, &a.admin, "channel=email").await);
    let had_his =
        count(&all_pages(&app, &a.clinic, &a.recep, &format!("patient_id={joao_id}")).await);
    queue_for(&app, &a.clinic, &joao, 230).await;
    queue_for(&app, &a.clinic, &maria, 30).await;
    queue_for(&app, &a.boavista, &maria, 10).await;

    let everything = all_pages(&app, &a.clinic, &a.admin, "channel=email").await;
    assert_eq!(
        everything.iter().map(Vec::len).collect::<Vec<_>>(),
        [200, had + 60],
        "two pages, the second short"
    );
    let listed: Vec<&Value> = everything.iter().flatten().collect();
    let ids: Vec<&str> = listed.iter().filter_map(|m| m["id"].as_str()).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        had + 260,
        "each of the clinic's messages once"
    );
    // Newest first across the page boundary: by creation time, then by id. The times are
    // compared as instants: RFC 3339 text drops trailing zeros of the fraction ("…00.120Z"
    // against "…00.120001Z"), so its text order is not time order.
    let keys: Vec<(chrono::DateTime<chrono::Utc>, &str)> = listed
        .iter()
        .map(|m| {
            let at = m["created_at"].as_str().expect("created_at");
            (
                at.parse().expect("an RFC 3339 time"),
                m["id"].as_str().expect("id"),
            )
        })
        .collect();
    assert!(
        keys.windows(2)
            .all(|w| w[0] > w[1] || (w[0].0 == w[1].0 && w[0].1 > w[1].1)),
        "not newest first: {keys:?}"
    );

    // A receptionist pages through one patient's the same way.
    let his = all_pages(&app, &a.clinic, &a.recep, &format!("patient_id={joao_id}")).await;
    assert_eq!(count(&his), had_his + 230);
    assert!(his.iter().flatten().all(|m| m["patient_id"] == joao));

    // A message of another clinic, or none, is no place to start from.
    let theirs = messages(
        &app,
        &a.boavista,
        &app.login("recepcao@boavista.demo", PW).await,
        &format!("patient_id={}", maria.as_str().expect("id")),
    )
    .await;
    let foreign = theirs[0]["id"].as_str().expect("id");
    for before in [foreign, "01a25200-0000-7000-8000-000000000000"] {
        let page = messages(&app, &a.clinic, &a.admin, &format!("before={before}")).await;
        assert!(page.is_empty(), "{before}: {page:?}");
    }
}
