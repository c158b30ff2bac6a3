//! Who opens a record: care relationship, break the glass, receptionists, other clinics,
//! psychology notes, the patient's own view.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::*;

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_professional_without_care_relationship_is_refused_until_breaking_the_glass() {
    let app = spawn_app().await;
    let r = fixture(&app, 3).await;
    let rafael = &r.a.rafael;
    let timeline = format!("{}/timeline", r.record());
    // Asking first answers how each would get in, without a refused request.
    let access_url = format!("{}/access", r.record());
    let access = |who: &Session| {
        let (app, url, token) = (&app, access_url.clone(), who.access.clone());
        async move {
            let (status, body) = json_of(app.get(&url, Some(&token)).await).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body
        }
    };
    let none = access(rafael).await;
    assert_eq!(none["access"], "none");
    assert!(
        none["message"]
            .as_str()
            .is_some_and(|m| m.contains("quebra de sigilo"))
    );
    assert_eq!(access(&r.a.helena).await["access"], "care");
    assert_error(
        app.get(&access_url, Some(&r.a.recep.access)).await,
        StatusCode::FORBIDDEN,
        "no_clinical_access",
    )
    .await;
    assert_error(
        app.get(&timeline, Some(&rafael.access)).await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
    assert_error(
        app.post(
            &format!("{}/encounters", r.record()),
            Some(&rafael.access),
            &json!({"content": content("x")}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
    // Helena has an appointment with the patient: she opens it.
    assert_eq!(
        app.get(&timeline, Some(&r.a.helena.access)).await.status(),
        StatusCode::OK
    );

    let glass = format!("{}/break-glass", r.record());
    assert_error(
        app.post(&glass, Some(&rafael.access), &json!({"reason": "urgente"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_too_short",
    )
    .await;
    let (status, g) = json_of(
        app.post(
            &glass,
            Some(&rafael.access),
            &json!({"reason": "Dor dentária aguda, paciente sem médico presente"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{g}");
    assert!(g["expires_at"].as_str().is_some());
    let through = access(rafael).await;
    assert_eq!(through["access"], "break_glass");
    assert_eq!(through["until"], g["expires_at"]);
    let (status, page) = json_of(app.get(&timeline, Some(&rafael.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rows = actions(&app).await;
    assert!(did(&rows, "record.break_glass", rafael));
    assert!(
        rows.iter().any(|(a, u, d)| a == "record.read"
            && u.as_deref() == rafael.me["id"].as_str()
            && d.contains("break_glass")),
        "the read through the glass is audited as such"
    );

    // The clinic's admin reviews the opening, reason included; nobody else does.
    let log = format!("/api/clinics/{}/record/break-glass", r.a.clinic);
    let (status, openings) = json_of(app.get(&log, Some(&r.a.admin.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{openings}");
    let entry = &openings["entries"][0];
    assert_eq!(entry["user_id"], rafael.me["id"]);
    assert_eq!(entry["patient_id"], r.patient.as_str());
    assert_eq!(
        entry["reason"],
        "Dor dentária aguda, paciente sem médico presente"
    );
    for who in [rafael, &r.a.recep] {
        assert_error(
            app.get(&log, Some(&who.access)).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    let other = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&log, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // The opening lasts 12 h.
    app.clock
        .advance(Duration::hours(12) + Duration::minutes(1));
    assert_eq!(access(rafael).await["access"], "none");
    assert_error(
        app.get(&timeline, Some(&rafael.access)).await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn receptionists_and_other_clinics_never_read_the_record() {
    let app = spawn_app().await;
    let r = fixture(&app, 4).await;
    let (_, e) = create(
        &app,
        &r,
        &r.a.helena,
        json!({"content": content("Lombalgia")}),
    )
    .await;
    let enc = format!(
        "{}/encounters/{}",
        r.record(),
        e["id"].as_str().expect("id")
    );
    for path in [
        format!("{}/timeline", r.record()),
        format!("{}/allergies", r.record()),
        enc.clone(),
    ] {
        assert_error(
            app.get(&path, Some(&r.a.recep.access)).await,
            StatusCode::FORBIDDEN,
            "no_clinical_access",
        )
        .await;
    }
    assert_error(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&r.a.recep.access),
            &json!({"reason": "quero ver o prontuário todo"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "no_clinical_access",
    )
    .await;

    // Another clinic's admin: not of this clinic, with or without the glass.
    let other = app.login("admin@boavista.demo", PW).await;
    assert_error(
        app.get(&enc, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        app.post(
            &format!("{}/break-glass", r.record()),
            Some(&other.access),
            &json!({"reason": "emergência na outra clínica"}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // The record does not exist at the other clinic, even for Helena who works in both.
    let there = format!(
        "/api/clinics/{}/patients/{}/record/timeline",
        r.a.boavista, r.patient
    );
    assert_error(
        app.get(&there, Some(&r.a.helena.access)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn psychology_notes_are_read_by_their_author_only_and_patients_see_only_locked_entries() {
    let app = spawn_app().await;
    let r = fixture(&app, 5).await;
    let joao = &r.a.joao;
    let record = r.base(&joao.record_at(&r.a.clinic));
    let psy = new_professional(
        &app,
        &r,
        json!({"email": "psi@aurora.demo", "full_name": "Renata Psi", "password": "senha-inicial-9",
               "profession": "psychologist", "council": "CRP", "council_number": "06/123456", "council_uf": "SP"}),
    )
    .await;
    // Both open João's record through the glass, then write.
    for who in [&psy, &r.a.helena] {
        let (status, _) = json_of(
            app.post(
                &format!("{record}/break-glass"),
                Some(&who.access),
                &json!({"reason": "primeiro atendimento do paciente"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let encounters = format!("{record}/encounters");
    let post = async |who: &Session, complaint: &str| {
        json_of(
            app.post(
                &encounters,
                Some(&who.access),
                &json!({"content": content(complaint)}),
            )
            .await,
        )
        .await
    };
    let (status, note) = post(&psy, "Sessão de psicoterapia").await;
    assert_eq!(status, StatusCode::CREATED, "{note}");
    assert_eq!(note["psychology"], true);
    let note_path = format!("{record}/encounters/{}", note["id"].as_str().expect("id"));
    let (status, _) = json_of(
        app.post(&format!("{note_path}/sign"), Some(&psy.access), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, signed) = post(&r.a.helena, "Consulta clínica assinada").await;
    let signed_path = format!("{record}/encounters/{}", signed["id"].as_str().expect("id"));
    let (status, _) = json_of(
        app.post(
            &format!("{signed_path}/sign"),
            Some(&r.a.helena.access),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _draft) = post(&r.a.helena, "Rascunho ainda aberto").await;
    // The newest entry is another psychology note: Helena's page of one still holds one
    // entry (hers), not an empty page.
    let (status, _) = post(&psy, "Segunda sessão de psicoterapia").await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, page) = json_of(
        app.get(
            &format!("{record}/timeline?limit=1"),
            Some(&r.a.helena.access),
        )
        .await,
    )
    .await;
    assert_eq!(
        page["items"][0]["encounter"]["content"]["chief_complaint"], "Rascunho ainda aberto",
        "{page}"
    );
    assert!(page["next_before"].is_string(), "{page}");

    // The author reads it; Helena (with access) and the admin (through the glass) do not.
    assert_eq!(
        app.get(&note_path, Some(&psy.access)).await.status(),
        StatusCode::OK
    );
    let admin = &r.a.admin;
    // The admin has no care relationship: refused until they break the glass.
    assert_error(
        app.get(&format!("{record}/timeline"), Some(&admin.access))
            .await,
        StatusCode::FORBIDDEN,
        "no_care_relationship",
    )
    .await;
    let (status, _) = json_of(
        app.post(
            &format!("{record}/break-glass"),
            Some(&admin.access),
            &json!({"reason": "auditoria interna da clínica"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    for who in [&r.a.helena, admin] {
        assert_error(
            app.get(&note_path, Some(&who.access)).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let (status, page) = json_of(
            app.get(&format!("{record}/timeline"), Some(&who.access))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let text = page.to_string();
        assert!(!text.contains("psicoterapia"), "{text}");
        assert!(text.contains("Consulta clínica assinada"), "{text}");
    }

    // The patient reads the summary of locked encounters only: no draft, no psychology.
    let (status, mine) = json_of(
        app.get("/api/me/record/encounters", Some(&joao.access))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let list = mine["encounters"].as_array().expect("encounters");
    assert_eq!(list.len(), 1, "{mine}");
    assert_eq!(list[0]["chief_complaint"], "Consulta clínica assinada");
    assert_eq!(list[0]["council"], "CRM");
    assert_eq!(list[0]["diagnoses"][0]["code"], "J11.1");
    // Maria, another patient, sees none of João's.
    let (_, hers) = json_of(
        app.get("/api/me/record/encounters", Some(&r.a.maria.access))
            .await,
    )
    .await;
    assert!(!hers.to_string().contains("Consulta clínica assinada"));
    // Patients never open the staff routes.
    assert_error(
        app.get(&format!("{record}/timeline"), Some(&joao.access))
            .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
}
