//! Special-control prescriptions (Portaria SVS/MS 344/98) need the patient's full address:
//! the clinic or the patient gives it (CEP checked), a prescription without it is refused
//! with a code that says why, and the signed file shows it on both copies with the blocks
//! the pharmacy fills in. A prescription of antimicrobials (RDC ANVISA 471/2021) goes in two
//! copies that say until when it may be dispensed.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::validators::{pdftotext, validators_available};
use super::{fixture, issue, pdf_of, prescription, settled, special};
use crate::helpers::*;

fn augusta() -> Value {
    json!({"street": " Rua Augusta ", "number": "1500", "complement": "apto 42",
           "district": "Consolação", "city": "São Paulo", "uf": "sp", "postal_code": "01304001"})
}

/// Registered by the reception with no address.
async fn carla(app: &TestApp, recep: &Session, clinic: &str) -> String {
    let (status, body) = json_of(
        app.post(
            &format!("/api/clinics/{clinic}/patients"),
            Some(&recep.access),
            &json!({"full_name": "Carla Menezes Rocha", "cpf": "714.602.380-01",
                    "birth_date": "1984-05-20"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["address"], Value::Null);
    body["id"].as_str().expect("id").to_string()
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn without_the_patients_address_a_special_prescription_is_refused_until_the_clinic_gives_it()
{
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let carla = carla(&app, &d.recep, &d.clinic).await;
    let record = format!("/api/clinics/{}/patients/{carla}", d.clinic);

    let body = assert_error(
        issue(&app, &d.helena, &d.clinic, &carla, special()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_address_required",
    )
    .await;
    assert_eq!(body["field"], "address", "{body}");
    assert!(
        body["message"].as_str().unwrap_or_default().contains("344"),
        "{body}"
    );
    // The preview says the same; an ordinary prescription needs no address.
    assert_error(
        app.post(
            "/api/documents/preview",
            Some(&d.helena.access),
            &json!({"clinic_id": d.clinic, "patient_id": carla, "content": special()}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_address_required",
    )
    .await;
    assert_eq!(
        issue(&app, &d.helena, &d.clinic, &carla, prescription())
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let (_, listed) = json_of(
        app.get(&format!("{record}/documents"), Some(&d.helena.access))
            .await,
    )
    .await;
    assert_eq!(
        listed["documents"].as_array().map(Vec::len),
        Some(1),
        "only the ordinary prescription was stored: {listed}"
    );

    // A CEP that is not one, or a part left blank, is refused and changes nothing.
    for (part, value, code) in [
        ("postal_code", "01304-00", "invalid_postal_code"),
        ("district", "  ", "invalid_address"),
    ] {
        let mut bad = augusta();
        bad[part] = json!(value);
        assert_error(
            app.patch(&record, Some(&d.recep.access), &json!({"address": bad}))
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
            code,
        )
        .await;
    }
    let (_, now) = json_of(app.get(&record, Some(&d.recep.access)).await).await;
    assert_eq!(now["address"], Value::Null, "{now}");

    // The reception gives it; it comes back tidied and the prescription goes through.
    let (status, now) = json_of(
        app.patch(
            &record,
            Some(&d.recep.access),
            &json!({"address": augusta()}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(
        now["address"],
        json!({"street": "Rua Augusta", "number": "1500", "complement": "apto 42",
               "district": "Consolação", "city": "São Paulo", "uf": "SP",
               "postal_code": "01304-001"})
    );
    let (status, doc) = json_of(issue(&app, &d.helena, &d.clinic, &carla, special()).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{doc}");

    // A patch that leaves the address out keeps it; `null` removes it.
    let (_, now) = json_of(
        app.patch(
            &record,
            Some(&d.recep.access),
            &json!({"phone": "(11) 98888-7777"}),
        )
        .await,
    )
    .await;
    assert_eq!(now["address"]["postal_code"], "01304-001", "{now}");
    let (_, now) = json_of(
        app.patch(&record, Some(&d.recep.access), &json!({"address": null}))
            .await,
    )
    .await;
    assert_eq!(now["address"], Value::Null, "{now}");
    assert_error(
        issue(&app, &d.helena, &d.clinic, &carla, special()).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "patient_address_required",
    )
    .await;
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_patient_gives_their_own_address_and_the_signed_copies_carry_it_with_the_pharmacy_blocks()
{
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let mine = format!("/api/patients/{}/address", d.joao_id);
    let mut address = augusta();
    address["street"] = json!("Rua Frei Caneca");
    address["number"] = json!("77");
    address["complement"] = Value::Null;

    // Only the patient of the record sets it; a bad UF is named.
    assert_eq!(
        app.put(&mine, Some(&d.maria.access), &json!({"address": address}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let mut bad = address.clone();
    bad["uf"] = json!("XX");
    assert_error(
        app.put(&mine, Some(&d.joao.access), &json!({"address": bad}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_uf",
    )
    .await;
    let (status, me) = json_of(
        app.put(&mine, Some(&d.joao.access), &json!({"address": address}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["address"]["street"], "Rua Frei Caneca");
    // A body without `address` is refused rather than read as "remove it".
    assert_error(
        app.put(&mine, Some(&d.joao.access), &json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_body",
    )
    .await;
    // A phone edit by the reception leaves the address as the patient gave it.
    let (status, edited) = json_of(
        app.patch(
            &format!("/api/clinics/{}/patients/{}", d.clinic, d.joao_id),
            Some(&d.recep.access),
            &json!({"phone": "(11) 97777-6666"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");

    // The clinic sees what he gave.
    let (_, seen) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients/{}", d.clinic, d.joao_id),
            Some(&d.recep.access),
        )
        .await,
    )
    .await;
    assert_eq!(seen["address"]["street"], "Rua Frei Caneca", "{seen}");
    assert_eq!(seen["address"]["postal_code"], "01304-001");

    let (status, doc) =
        json_of(issue(&app, &d.helena, &d.clinic, &d.joao_id, special()).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
    let id = doc["id"].as_str().expect("id");
    assert_eq!(settled(&app, &d.helena, id).await["status"], "signed");
    if !validators_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let text = pdftotext(dir.path(), "special.pdf", &pdf_of(&app, &d.joao, id).await);
    let copies: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(copies.len(), 2, "{text}");
    for (page, via) in copies.iter().zip(["1ª via", "2ª via"]) {
        assert!(page.contains(via), "{page}");
        assert!(
            page.contains("Rua Frei Caneca, 77 – Consolação, São Paulo/SP – CEP 01304-001"),
            "{page}"
        );
        for block in [
            "IDENTIFICAÇÃO DO COMPRADOR",
            "Órg. Emissor:",
            "Telefone:",
            "IDENTIFICAÇÃO DO FORNECEDOR",
            "Assinatura do Farmacêutico",
        ] {
            assert!(page.contains(block), "{block}: {page}");
        }
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn an_antimicrobial_prescription_is_two_copies_valid_for_ten_days() {
    let app = spawn_app().await;
    let d = fixture(&app).await;
    let content = json!({"kind": "prescription", "medications": [
        {"name": "Amoxicilina", "concentration": "500 mg", "form": "cápsula",
         "quantity": "21 cápsulas", "instructions": "1 cápsula de 8 em 8 horas por 7 dias",
         "list": "antimicrobial"}]});
    let (status, doc) = json_of(issue(&app, &d.helena, &d.clinic, &d.joao_id, content).await).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{doc}");
    let id = doc["id"].as_str().expect("id");
    let signed = settled(&app, &d.helena, id).await;
    assert_eq!(signed["status"], "signed", "{signed}");
    let pdf = pdf_of(&app, &d.helena, id).await;
    let pages = lopdf::Document::load_mem(&pdf)
        .expect("pdf")
        .get_pages()
        .len();
    assert_eq!(pages, 2, "one page per copy");
    if !validators_available() {
        return;
    }
    // Ten days from the day it was issued, in the clinic's time zone.
    let issued: chrono::DateTime<chrono::Utc> = signed["created_at"]
        .as_str()
        .expect("created_at")
        .parse()
        .expect("time");
    let until = issued
        .with_timezone(&chrono_tz::America::Sao_Paulo)
        .date_naive()
        + chrono::Days::new(10);
    let dir = tempfile::tempdir().expect("tmp");
    let text = pdftotext(dir.path(), "antimicrobial.pdf", &pdf);
    let copies: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(copies.len(), 2, "{text}");
    for (page, via) in copies
        .iter()
        .zip(["1ª via – Retenção", "2ª via – Paciente"])
    {
        assert!(page.contains(via), "{page}");
        assert!(
            page.contains(&format!("até {}", until.format("%d/%m/%Y"))),
            "{page}"
        );
    }
}
