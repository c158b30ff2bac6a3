//! `--mode record`: the clinical record under load (issue #19's benchmark). As the demo
//! clinic's admin it enrols `--senders` doctors, registers one patient and books each
//! doctor an appointment with them (the care relationship that opens the record); then the
//! doctors, all at once, write `--events` encounters between them (`POST
//! …/record/encounters`, each ~700 characters and one CID-10 diagnosis), timed one by one;
//! then one doctor reads the timeline's first page (50 entries) `--rooms` times in a row.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde_json::{Value, json};

use crate::Args;
use crate::common::*;

const PAGE: usize = 50;

/// An encounter as a doctor writes it: about 700 characters and one diagnosis.
fn encounter(n: usize) -> Value {
    json!({"content": {
        "chief_complaint": format!("Dor de garganta e febre há 3 dias (registro {n})"),
        "history": "Refere odinofagia progressiva, febre aferida de 38,5 °C, mialgia e cefaleia. \
                    Nega tosse produtiva, dispneia ou contato com casos semelhantes. Sem \
                    comorbidades conhecidas; nega alergias medicamentosas.",
        "examination": "BEG, corado, hidratado, acianótico. Orofaringe hiperemiada com \
                        exsudato amigdaliano bilateral; linfonodos cervicais anteriores \
                        dolorosos. FC 96 bpm, FR 16 irpm, Tax 38,1 °C, SpO2 98%.",
        "diagnoses": [{"code": "J03.9", "text": "amigdalite aguda"}],
        "plan": "Amoxicilina 500 mg 8/8 h por 10 dias; dipirona se dor ou febre; hidratação; \
                 retorno se piora ou persistência da febre após 72 h.",
        "evolution": "Paciente orientado sobre sinais de alarme."
    }})
}

pub(crate) async fn record_mode(args: Args) {
    let http = reqwest::Client::new();
    let url = args.url.clone();
    let admin = login(&http, &url, "admin@aurora.demo", &args.password).await;
    let admin_token = admin["access_token"].as_str().expect("token").to_string();
    let clinic = admin_clinic(&admin);
    let recep = login(&http, &url, "recepcao@aurora.demo", &args.password).await;
    let recep = recep["access_token"].as_str().expect("token").to_string();
    // One run's people: a stamp keeps reruns against the same database apart.
    let stamp = now_ns() / 1_000_000_000 % 100_000_000;
    let patient = load_patient(&http, &url, &recep, &clinic, stamp as usize).await;
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(2);
    let mut doctors = Vec::new();
    for i in 0..args.senders {
        let email = format!("medico.{stamp}.{i}@carga.test");
        let created: Value = post(
            &http,
            format!("{url}/api/clinics/{clinic}/professionals"),
            &admin_token,
            json!({"email": email, "full_name": format!("Médico de Carga {i}"),
                   "password": "senha-de-carga-1", "profession": "doctor", "council": "CRM",
                   "council_number": format!("{}", 10_000_000 + (stamp % 90_000) * 100 + i as u64),
                   "council_uf": "SP"}),
        )
        .await;
        let id = created["user_id"]
            .as_str()
            .or_else(|| created["id"].as_str())
            .unwrap_or_else(|| panic!("enrol: {created}"))
            .to_string();
        let starts = tomorrow.and_hms_opt(0, 0, 0).expect("time").and_utc()
            + chrono::Duration::minutes(30 * i as i64);
        let appt = post(
            &http,
            format!("{url}/api/clinics/{clinic}/appointments"),
            &recep,
            json!({"professional_user_id": id, "patient_id": patient,
                   "starts_at": starts, "fit_in": true}),
        )
        .await;
        assert!(appt["id"].is_string(), "booking: {appt}");
        let session = login(&http, &url, &email, "senha-de-carga-1").await;
        doctors.push(session["access_token"].as_str().expect("token").to_string());
    }
    let record = format!("{url}/api/clinics/{clinic}/patients/{patient}/record");

    // Writes: every doctor at once until `--events` encounters are written.
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for token in doctors.clone() {
        let (http, endpoint, next, total) = (
            http.clone(),
            format!("{record}/encounters"),
            next.clone(),
            args.events,
        );
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= total {
                    return times;
                }
                let at = Instant::now();
                let resp = http
                    .post(&endpoint)
                    .bearer_auth(&token)
                    .json(&encounter(n))
                    .send()
                    .await
                    .expect("request");
                assert!(resp.status().is_success(), "write: {}", resp.status());
                resp.bytes().await.expect("body");
                times.push(at.elapsed().as_nanos() as u64);
            }
        }));
    }
    let mut writes = Vec::with_capacity(args.events);
    for t in tasks {
        writes.extend(t.await.expect("writer"));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let (w50, w99, wmax) = percentiles(writes);
    println!(
        "record: {} encounters written by {} doctors at once in {elapsed:.1} s = {:.0}/s; \
         write p50 {w50:.1} ms, p99 {w99:.1} ms, max {wmax:.1} ms",
        args.events,
        args.senders,
        args.events as f64 / elapsed
    );

    // Reads: the first page of a history of `--events` entries, one after the other.
    let mut reads = Vec::with_capacity(args.rooms);
    for _ in 0..args.rooms {
        let at = Instant::now();
        let page: Value = http
            .get(format!("{record}/timeline?limit={PAGE}"))
            .bearer_auth(&doctors[0])
            .send()
            .await
            .expect("timeline")
            .json()
            .await
            .expect("json");
        reads.push(at.elapsed().as_nanos() as u64);
        let entries = page["items"].as_array().map_or(0, Vec::len);
        assert_eq!(entries, PAGE.min(args.events), "a full first page");
    }
    let (r50, r99, rmax) = percentiles(reads);
    println!(
        "record: timeline first page ({PAGE} of {} entries) read {} times: p50 {r50:.1} ms, \
         p99 {r99:.1} ms, max {rmax:.1} ms",
        args.events, args.rooms
    );
}
