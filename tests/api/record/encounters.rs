//! Encounters: draft → version conflict → signed → addenda; the auto-lock; nothing in
//! plaintext at rest.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_encounter_goes_from_draft_to_signed_and_is_then_corrected_only_by_addenda() {
    let app = spawn_app().await;
    let r = fixture(&app, 1).await;
    let helena = &r.a.helena;

    let (status, e) = create(
        &app,
        &r,
        helena,
        json!({"appointment_id": r.appointment, "content": content("Dor de garganta")}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    assert_eq!(e["status"], "draft");
    assert_eq!(e["version"], 1);
    assert_eq!(e["author"]["council"], "CRM");
    assert!(
        e["author"]["council_number"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
    );
    assert_eq!(e["content"]["diagnoses"][0]["code"], "J11.1");
    assert_eq!(e["appointment_id"], r.appointment.as_str());
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );

    // Two tabs: the first saves version 1, the second (still at 1) is refused.
    let mut c = content("Dor de garganta e tosse");
    let (status, saved) =
        json_of(put(&app, &path, helena, &json!({"version": 1, "content": c})).await).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 2);
    c["plan"] = json!("Outro plano, de outra aba");
    let conflict = assert_error(
        put(&app, &path, helena, &json!({"version": 1, "content": c})).await,
        StatusCode::CONFLICT,
        "version_conflict",
    )
    .await;
    assert_eq!(conflict["current_version"], 2);
    let (_, now) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert_eq!(now["content"]["chief_complaint"], "Dor de garganta e tosse");
    assert_eq!(now["content"]["plan"], "Sintomáticos; retorno se piora.");

    // A badly shaped CID-10 code is refused, the draft unchanged.
    let mut bad = content("x");
    bad["diagnoses"] = json!([{"code": "J1", "text": "?"}]);
    let resp = put(&app, &path, helena, &json!({"version": 2, "content": bad})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // An encounter is started only from the caller's own appointment with the patient.
    let rafael = &r.a.rafael;
    let (status, _) = json_of(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&rafael.access),
            &json!({"reason": "Paciente em atendimento de urgência"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_error(
        app.post(
            &format!("{}/encounters", r.record()),
            Some(&rafael.access),
            &json!({"appointment_id": r.appointment, "content": content("x")}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_appointment",
    )
    .await;

    // Only the author edits or signs; then it is locked for good.
    assert_error(
        put(&app, &path, rafael, &json!({"version": 2, "content": c})).await,
        StatusCode::FORBIDDEN,
        "not_author",
    )
    .await;
    let (status, signed) = json_of(
        app.post(&format!("{path}/sign"), Some(&helena.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["status"], "locked");
    assert_eq!(signed["lock_kind"], "signed");
    assert_eq!(signed["locked_by"], helena.me["id"]);
    assert_error(
        put(&app, &path, helena, &json!({"version": 2, "content": c})).await,
        StatusCode::CONFLICT,
        "encounter_locked",
    )
    .await;
    assert_error(
        app.post(&format!("{path}/sign"), Some(&helena.access), &json!({}))
            .await,
        StatusCode::CONFLICT,
        "encounter_locked",
    )
    .await;
    // No route deletes it.
    let del = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&helena.access)
        .send()
        .await
        .expect("delete");
    assert!(!del.status().is_success(), "{}", del.status());

    // Corrections are addenda, with their own author and time.
    let (status, add) = json_of(
        app.post(
            &format!("{path}/addenda"),
            Some(&helena.access),
            &json!({"text": "Correção: tosse seca, não produtiva."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{add}");
    assert_eq!(add["author"]["user_id"], helena.me["id"]);
    assert_error(
        app.post(
            &format!("{path}/addenda"),
            Some(&helena.access),
            &json!({"text": "  "}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_text",
    )
    .await;
    let (_, full) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert_eq!(full["status"], "locked");
    assert_eq!(full["version"], 2);
    assert_eq!(
        full["content"]["chief_complaint"],
        "Dor de garganta e tosse"
    );
    assert_eq!(full["addenda"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        full["addenda"][0]["text"],
        "Correção: tosse seca, não produtiva."
    );

    let rows = actions(&app).await;
    for action in [
        "encounter.created",
        "encounter.saved",
        "encounter.signed",
        "encounter.addendum",
        "record.read",
    ] {
        assert!(did(&rows, action, helena), "no {action} by Helena");
    }

    // The database itself refuses to change a locked encounter or delete one.
    let id = e["id"].as_str().expect("id");
    let refused = raw_exec(
        &app,
        &format!(
            "UPDATE encounters SET content_enc = 'x' WHERE id = {}",
            id_literal(&app, id)
        ),
    )
    .await;
    assert!(refused.is_err(), "a locked encounter was changed");
    // Not even to another value in the encrypted form under the same key (only a key
    // rotation may rewrite it; the test key id is `t1`).
    let refused = raw_exec(
        &app,
        &format!(
            "UPDATE encounters SET content_enc = 'v1:' || substr(content_enc, 4, 2) || ':AAAA' WHERE id = {}",
            id_literal(&app, id)
        ),
    )
    .await;
    assert!(
        refused.is_err(),
        "a locked encounter was rewritten under its own key"
    );
    let refused = raw_exec(
        &app,
        &format!("DELETE FROM encounters WHERE id = {}", id_literal(&app, id)),
    )
    .await;
    assert!(refused.is_err(), "an encounter was deleted");
}

fn id_literal(app: &TestApp, id: &str) -> String {
    if app.is_postgres() {
        format!("'{id}'")
    } else {
        format!("X'{}'", id.replace('-', ""))
    }
}

async fn raw_exec(app: &TestApp, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_string());
    if app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    } else {
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.db_url).await?;
        sqlx::query(sql).execute(&mut c).await.map(|_| ())
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_draft_locks_by_itself_after_24_hours_on_the_clock() {
    let app = spawn_app().await;
    let r = fixture(&app, 2).await;
    let helena = &r.a.helena;
    let (_, e) = create(&app, &r, helena, json!({"content": content("Cefaleia")})).await;
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );

    app.clock.advance(Duration::hours(23));
    let (status, saved) = json_of(
        put(
            &app,
            &path,
            helena,
            &json!({"version": 1, "content": content("Cefaleia tensional")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["status"], "draft");

    app.clock.advance(Duration::hours(1) + Duration::minutes(1));
    let (_, got) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert_eq!(got["status"], "locked", "{got}");
    assert_eq!(got["lock_kind"], "auto");
    assert_eq!(got["content"]["chief_complaint"], "Cefaleia tensional");
    assert_error(
        put(
            &app,
            &path,
            helena,
            &json!({"version": 2, "content": content("tarde demais")}),
        )
        .await,
        StatusCode::CONFLICT,
        "encounter_locked",
    )
    .await;
    assert!(
        actions(&app)
            .await
            .iter()
            .any(|(a, _, _)| a == "encounter.auto_locked")
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn no_clinical_text_is_stored_in_plaintext() {
    let app = spawn_app().await;
    let r = fixture(&app, 8).await;
    let helena = &r.a.helena;
    let (status, e) = create(
        &app,
        &r,
        helena,
        json!({"content": {"chief_complaint": format!("{SENTINEL} na queixa"),
            "history": SENTINEL, "examination": SENTINEL, "plan": SENTINEL, "evolution": SENTINEL,
            "diagnoses": [{"code": "R51", "text": SENTINEL}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    let path = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );
    app.post(&format!("{path}/sign"), Some(&helena.access), &json!({}))
        .await;
    let (status, _) = json_of(
        app.post(
            &format!("{path}/addenda"),
            Some(&helena.access),
            &json!({"text": SENTINEL}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = json_of(
        app.post(
            &format!("{}/allergies", r.record()),
            Some(&helena.access),
            &json!({"substance": SENTINEL, "reaction": SENTINEL, "severity": "mild"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = json_of(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&r.a.rafael.access),
            &json!({"reason": format!("motivo {SENTINEL}")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // It was written: the API reads it back.
    let (_, got) = json_of(app.get(&path, Some(&helena.access)).await).await;
    assert!(got.to_string().contains(SENTINEL));

    if app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        for table in [
            "encounters",
            "encounter_addenda",
            "allergies",
            "record_access_grants",
            "audit_log",
        ] {
            let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT t::text FROM {table} t"
            )))
            .fetch_all(&mut c)
            .await
            .expect("rows");
            assert!(!rows.is_empty() || table == "audit_log", "{table} is empty");
            for (row,) in rows {
                assert!(!row.contains(SENTINEL), "{table}: {row}");
            }
        }
    } else {
        let file = app
            .db_url
            .strip_prefix("sqlite://")
            .expect("an sqlite url")
            .to_string();
        let mut scanned = 0;
        for f in [file.clone(), format!("{file}-wal")] {
            if let Ok(bytes) = std::fs::read(&f) {
                scanned += bytes.len();
                assert!(
                    !bytes
                        .windows(SENTINEL.len())
                        .any(|w| w == SENTINEL.as_bytes()),
                    "{f} holds the clinical text in plaintext"
                );
            }
        }
        assert!(scanned > 0);
    }
}
