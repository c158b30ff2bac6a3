//! Finding a clinic's patients by name while names are stored sealed: through the blind
//! index of the beginnings of their words (without regard to case or accents, every word
//! of the search required), and again after the index key changed and `atende keys
//! reindex` rebuilt every blind index.

use atende::config::Secret;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::agenda::{agenda_fixture, cpf_for};
use crate::helpers::*;
use crate::keys::{created, raw_values};

async fn register(
    app: &TestApp,
    clinic: &str,
    who: &Session,
    full_name: &str,
    social_name: Option<&str>,
    cpf: &str,
) -> String {
    let p = created(
        app.post(
            &format!("/api/clinics/{clinic}/patients"),
            Some(&who.access),
            &json!({"full_name": full_name, "social_name": social_name, "cpf": cpf,
                    "birth_date": "1980-05-06", "phone": "(11) 97654-3210"}),
        )
        .await,
    )
    .await;
    p["id"].as_str().expect("id").to_string()
}

/// The ids a search answers, in its order.
async fn search(app: &TestApp, clinic: &str, who: &Session, q: &str) -> Vec<String> {
    let (status, found) = json_of(
        app.client
            .get(app.url(&format!("/api/clinics/{clinic}/patients")))
            .query(&[("q", q)])
            .bearer_auth(&who.access)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    found
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_string())
        .collect()
}

async fn names(app: &TestApp, clinic: &str, who: &Session, q: &str) -> Vec<Value> {
    let (_, found) = json_of(
        app.client
            .get(app.url(&format!("/api/clinics/{clinic}/patients")))
            .query(&[("q", q)])
            .bearer_auth(&who.access)
            .send()
            .await
            .expect("get"),
    )
    .await;
    found
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["full_name"].clone())
        .collect()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn patients_are_found_by_the_beginnings_of_their_words_without_accents_every_word_required() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let c = a.clinic.as_str();
    let r = &a.recep;
    let joao = register(
        &app,
        c,
        r,
        "João Quixeramobim Tavares",
        None,
        &cpf_for(8301),
    )
    .await;
    let maria = register(
        &app,
        c,
        r,
        "Maria da Silva Quixeramobim",
        Some("Mariazinha Ubatuba"),
        &cpf_for(8302),
    )
    .await;
    let bv = app.login("recepcao@boavista.demo", PW).await;
    let elsewhere = register(
        &app,
        &a.boavista,
        &bv,
        "João Quixeramobim Tavares",
        None,
        &cpf_for(8303),
    )
    .await;

    // Word beginnings, in name order; case and accents aside.
    assert_eq!(
        search(&app, c, r, "quixer").await,
        [joao.as_str(), maria.as_str()]
    );
    assert_eq!(
        search(&app, c, r, "QUIXERAMOBIM").await,
        [joao.as_str(), maria.as_str()]
    );
    assert_eq!(search(&app, c, r, "joao quix").await, [joao.as_str()]);
    assert_eq!(search(&app, c, r, "Jo quíx").await, [joao.as_str()]);
    // Every word must match: "tav" is only João's; "mar sil" only Maria's.
    assert_eq!(search(&app, c, r, "quix tav").await, [joao.as_str()]);
    assert_eq!(search(&app, c, r, "mar sil").await, [maria.as_str()]);
    assert!(search(&app, c, r, "joao ubatuba").await.is_empty());
    // The social name counts, alone or with the name.
    assert_eq!(search(&app, c, r, "ubatu").await, [maria.as_str()]);
    assert_eq!(
        search(&app, c, r, "mariazinha quixeramobim").await,
        [maria.as_str()]
    );
    // A word is matched from its beginning, not in its middle; one-letter words say
    // nothing (alone, nothing is found; beside others, they are left out).
    assert!(search(&app, c, r, "eramobim").await.is_empty());
    assert!(search(&app, c, r, "q").await.is_empty());
    assert_eq!(
        search(&app, c, r, "j quixeramobim t").await,
        [joao.as_str(), maria.as_str()]
    );
    // Another clinic's record of the same name is that clinic's alone.
    assert!(
        !search(&app, c, r, "quixeramobim")
            .await
            .contains(&elsewhere)
    );
    assert_eq!(
        search(&app, &a.boavista, &bv, "quixeramobim").await,
        [elsewhere.as_str()]
    );

    // A changed or cleared social name is found as it now is.
    for (id, social) in [(&joao, "Tavinho Ubatuba"), (&maria, "")] {
        let path = format!("/api/clinics/{c}/patients/{id}");
        let body = json!({ "social_name": social });
        created(app.patch(&path, Some(&r.access), &body).await).await;
    }
    assert_eq!(search(&app, c, r, "ubatuba").await, [joao.as_str()]);
    assert_eq!(search(&app, c, r, "tavinho quix").await, [joao.as_str()]);
    assert!(search(&app, c, r, "mariazinha").await.is_empty());
    assert_eq!(search(&app, c, r, "maria quix").await, [maria.as_str()]);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_list_of_patients_is_in_name_order_without_regard_to_case_or_accents() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let (c, r) = (a.clinic.as_str(), &a.recep);
    for (i, name) in [
        "Beatriz Zanzibar",
        "álvaro Zanzibar",
        "Alberto Zanzibar",
        "Ana Zanzibar",
    ]
    .into_iter()
    .enumerate()
    {
        register(&app, c, r, name, None, &cpf_for(8320 + i)).await;
    }
    assert_eq!(
        names(&app, c, r, "zanzibar").await,
        [
            "Alberto Zanzibar",
            "álvaro Zanzibar",
            "Ana Zanzibar",
            "Beatriz Zanzibar"
        ]
    );
    // With no search at all, the clinic's patients in the same order.
    let all = names(&app, c, r, "").await;
    let ours: Vec<Value> = all
        .into_iter()
        .filter(|n| n.as_str().is_some_and(|n| n.ends_with("Zanzibar")))
        .collect();
    assert_eq!(
        ours,
        [
            "Alberto Zanzibar",
            "álvaro Zanzibar",
            "Ana Zanzibar",
            "Beatriz Zanzibar"
        ]
    );
}

/// The blind indexes are keyed by `security.jwt_secret`: after it changes, the records
/// written before are not found by name or CPF until `atende keys reindex` rebuilt them.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn after_the_index_secret_changes_reindexing_finds_patients_by_name_and_cpf_again() {
    let app = spawn_app().await;
    let a = agenda_fixture(&app).await;
    let cpf = cpf_for(8340);
    let id = register(
        &app,
        &a.clinic,
        &a.recep,
        "Ubiratã Quixabeira",
        Some("Bira Quixabeira"),
        &cpf,
    )
    .await;
    assert_eq!(
        search(&app, &a.clinic, &a.recep, "ubirata").await,
        [id.as_str()]
    );
    // A sign-up waiting for its link: its address's blind index is keyed the same way.
    let signup = signup_body("reindexada@exemplo.com.br", &cpf_for(8341));
    let resp = app.post("/api/auth/signup", None, &signup).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    let node = spawn_node(Some(app.db_url.clone()), |st| {
        st.security.jwt_secret = Secret::new("another-jwt-secret-9876543210-zyxwvutsrq".into());
    })
    .await;
    app.shutdown.shutdown().await;
    let recep = node.login("recepcao@aurora.demo", PW).await;
    for q in ["ubirata", "bira quixa", cpf.as_str()] {
        assert!(
            search(&node, &a.clinic, &recep, q).await.is_empty(),
            "{q} is found under the old key"
        );
    }

    // The same address asked again under the new key: indexed apart from the first.
    let resp = node.post("/api/auth/signup", None, &signup).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let indexes = raw_values(&node, "pending_signups", "email_index").await;
    assert_eq!(indexes.len(), 2);
    assert_ne!(indexes[0], indexes[1]);

    let mut batches = 0;
    let done = atende::app::keys::reindex(&node.state.store, 3, |_| batches += 1)
        .await
        .expect("reindex");
    assert!(done.patients >= 4, "{done:?}");
    assert!(done.name_tokens > 10, "{done:?}");
    assert_eq!(done.pending_signups, 2, "{done:?}");
    assert!(batches >= 2, "{batches} batch(es)");
    let indexes = raw_values(&node, "pending_signups", "email_index").await;
    assert_eq!(indexes[0], indexes[1], "both under the new key");
    for q in ["ubirata", "bira quixa", "QUIXABEIRA", cpf.as_str()] {
        assert_eq!(
            search(&node, &a.clinic, &recep, q).await,
            [id.as_str()],
            "{q}"
        );
    }
    // Running it again changes nothing that can be seen.
    atende::app::keys::reindex(&node.state.store, 500, |_| {})
        .await
        .expect("reindex");
    assert_eq!(
        search(&node, &a.clinic, &recep, "ubi qui").await,
        [id.as_str()]
    );
}
