//! The clinic's revenue report: money taken at the desk by card, cash and Pix, and a refund,
//! added up by professional, service and method from the ledger; the same lines as a CSV an
//! accountant opens in Excel (BOM, `;`, decimal comma, accents); administrators only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::money_fixture;
use crate::agenda::{Agenda, book};
use crate::helpers::*;

fn group<'v>(report: &'v Value, by: &str, key: &str) -> &'v Value {
    report[by]
        .as_array()
        .and_then(|g| g.iter().find(|x| x["key"] == key))
        .unwrap_or_else(|| panic!("no {key} in {by}: {report}"))
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_revenue_report_adds_up_the_ledger_and_exports_a_csv_excel_reads() {
    let app = spawn_app().await;
    let m = money_fixture(&app).await;
    let a = &m.a;
    let (status, service) = json_of(
        app.post(
            &format!("/api/clinics/{}/services", a.clinic),
            Some(&a.admin.access),
            &json!({"name": "Avaliação ortodôntica", "duration_minutes": 30, "price_cents": 18_000}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let helena_appt = m.appointment(&app, 9).await;
    let (status, rafael_appt) = json_of(
        book(
            &app,
            &a.clinic,
            &a.recep,
            json!({"professional_user_id": Agenda::id(&a.rafael), "patient_id": Agenda::patient(&a.maria),
                   "service_id": service["id"], "starts_at": a.at(10, 0)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{rafael_appt}");

    let cash = |path: &str, body: Value| {
        let (app, url, token) = (
            &app,
            format!("/api/clinics/{}/cash{path}", a.clinic),
            a.recep.access.clone(),
        );
        async move {
            let (status, body) = json_of(app.post(&url, Some(&token), &body).await).await;
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    };
    cash("/open", json!({"opening_cents": 0})).await;
    cash(
        "/movements",
        json!({"kind": "payment", "method": "card", "amount_cents": 25_000,
        "nsu": "778899", "appointment_id": helena_appt}),
    )
    .await;
    cash(
        "/movements",
        json!({"kind": "payment", "method": "cash", "amount_cents": 18_000,
        "appointment_id": rafael_appt["id"]}),
    )
    .await;
    cash(
        "/movements",
        json!({"kind": "refund", "method": "cash", "amount_cents": 3_000,
        "appointment_id": rafael_appt["id"]}),
    )
    .await;
    cash(
        "/movements",
        json!({"kind": "payment", "method": "pix", "amount_cents": 700,
        "description": "Cópia de exame"}),
    )
    .await;

    // The period around today (the postings carry the app's clock, which is today).
    let (from, to) = (a.day - chrono::Duration::days(2), a.day);
    let report_path = format!(
        "/api/clinics/{}/reports/revenue?from={from}&to={to}",
        a.clinic
    );
    let (status, r) = json_of(app.get(&report_path, Some(&a.admin.access)).await).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(
        (
            r["total"]["received_cents"].as_i64(),
            r["total"]["refunded_cents"].as_i64(),
            r["total"]["net_cents"].as_i64(),
            r["total"]["count"].as_i64()
        ),
        (Some(43_700), Some(3_000), Some(40_700), Some(4)),
        "{r}"
    );
    assert_eq!(group(&r, "by_method", "card")["sums"]["net_cents"], 25_000);
    assert_eq!(group(&r, "by_method", "cash")["sums"]["net_cents"], 15_000);
    assert_eq!(group(&r, "by_method", "cash")["label"], "Dinheiro");
    assert_eq!(group(&r, "by_method", "pix")["sums"]["net_cents"], 700);
    let helena = a.helena.me["full_name"].as_str().expect("name");
    let rafael = a.rafael.me["full_name"].as_str().expect("name");
    assert_eq!(
        group(&r, "by_professional", helena)["sums"]["net_cents"],
        25_000
    );
    assert_eq!(
        group(&r, "by_professional", rafael)["sums"]["net_cents"],
        15_000
    );
    assert_eq!(
        group(&r, "by_professional", "Sem consulta")["sums"]["net_cents"],
        700
    );
    assert_eq!(
        group(&r, "by_service", "Avaliação ortodôntica")["sums"]["refunded_cents"],
        3_000
    );
    let days: i64 = r["by_day"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["sums"]["net_cents"].as_i64().expect("cents"))
        .sum();
    assert_eq!(days, 40_700, "the days add up to the total: {r}");
    // A period before any of it is empty.
    let (_, before) = json_of(
        app.get(
            &format!(
                "/api/clinics/{}/reports/revenue?from=2020-01-01&to=2020-12-31",
                a.clinic
            ),
            Some(&a.admin.access),
        )
        .await,
    )
    .await;
    assert_eq!(before["total"]["count"], 0, "{before}");

    // The CSV: BOM, pt-BR header, one row per posting, `;` with decimal comma.
    let csv_path = format!(
        "/api/clinics/{}/reports/revenue.csv?from={from}&to={to}",
        a.clinic
    );
    let resp = app.get(&csv_path, Some(&a.admin.access)).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let headers = resp.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("disposition")
            .contains(&format!("receitas-{from}-a-{to}.csv"))
    );
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM for Excel");
    let text = std::str::from_utf8(&bytes[3..]).expect("utf-8");
    let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        rows[0],
        "Data;Hora;Lançamento;Forma;Valor (R$);Profissional;Serviço;Consulta;Data da consulta"
    );
    assert_eq!(rows.len(), 5, "{text}");
    let refund = rows
        .iter()
        .find(|r| r.contains("Devolução no caixa"))
        .unwrap_or_else(|| panic!("no refund row: {text}"));
    let cells: Vec<&str> = refund.split(';').collect();
    assert_eq!(cells[3], "Dinheiro");
    assert_eq!(cells[4], "-30,00");
    assert_eq!(cells[5], rafael);
    assert_eq!(cells[6], "Avaliação ortodôntica");
    assert_eq!(cells[7], rafael_appt["id"].as_str().expect("id"));
    assert!(rows.iter().any(|r| r.contains(";Cartão;250,00;")), "{text}");
    // The comma dialect for other spreadsheets.
    let comma = app
        .get(&format!("{csv_path}&sep=comma"), Some(&a.admin.access))
        .await
        .text()
        .await
        .expect("body");
    assert!(comma.contains(",Cartão,250.00,"), "{comma}");

    // Every export is audited.
    let audit = app.state.store.audit_page(0, 100_000).await.expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "report.exported")
            .count(),
        2
    );

    // Administrators only; bad periods and separators are refused with their reason.
    for who in [&a.recep, &a.helena, &a.joao] {
        for path in [&report_path, &csv_path] {
            let resp = app.get(path, Some(&who.access)).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        }
    }
    for (query, code) in [
        ("from=2026-01-01&to=2027-06-01", "invalid_period"),
        ("from=2026-02-01&to=2026-01-01", "invalid_period"),
    ] {
        let (status, body) = json_of(
            app.get(
                &format!("/api/clinics/{}/reports/revenue?{query}", a.clinic),
                Some(&a.admin.access),
            )
            .await,
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code)),
            "{query}"
        );
    }
    let (status, body) = json_of(
        app.get(&format!("{csv_path}&sep=tab"), Some(&a.admin.access))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_separator"))
    );
}
