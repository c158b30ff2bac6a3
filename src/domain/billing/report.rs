//! The clinic's revenue report, as rules without I/O: what a revenue line is (one posting to
//! `income:appointments`, read with the asset account of its transaction), how lines add up
//! per day, professional, service and payment method, and how a line is written as CSV for
//! a spreadsheet (UTF-8 with BOM, `;` and decimal comma for Excel in pt-BR, or `,` and
//! decimal point; cells that a spreadsheet would run as a formula are neutralised).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::cash::{CARD_RECEIVABLE, CASH_DRAWER};
use super::ledger::PIX_PSP;

/// The byte order mark Excel needs to read a CSV as UTF-8 (accents in names).
pub const BOM: &str = "\u{feff}";

/// How a payment was taken, from the asset account it landed in.
pub fn method_of(account: Option<&str>) -> &'static str {
    match account {
        Some(CASH_DRAWER) => "cash",
        Some(CARD_RECEIVABLE) => "card",
        Some(PIX_PSP) => "pix",
        _ => "other",
    }
}

/// The pt-BR word for a method, as the CSV and the screens write it.
pub fn method_label(method: &str) -> &'static str {
    match method {
        "cash" => "Dinheiro",
        "card" => "Cartão",
        "pix" => "Pix",
        _ => "Outro",
    }
}

/// A ledger transaction kind in pt-BR.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "pix_payment" => "Pix recebido",
        "pix_refund" => "Devolução de Pix",
        "desk_payment" => "Recebimento no caixa",
        "desk_refund" => "Devolução no caixa",
        _ => "Outro lançamento",
    }
}

/// One revenue posting: + received, − given back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueLine {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub cents: i64,
    pub method: &'static str,
    pub appointment_id: Option<uuid::Uuid>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub professional: Option<String>,
    pub service: Option<String>,
}

/// The sums of a group of lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub received_cents: i64,
    pub refunded_cents: i64,
    pub count: i64,
}

impl Sums {
    fn add(&mut self, cents: i64) {
        if cents >= 0 {
            self.received_cents += cents;
        } else {
            self.refunded_cents -= cents;
        }
        self.count += 1;
    }

    pub fn net_cents(&self) -> i64 {
        self.received_cents - self.refunded_cents
    }
}

/// A period's revenue, added up as its lines arrive (constant memory in the number of lines:
/// the groups are days, professionals, services and methods).
#[derive(Debug, Clone, Default)]
pub struct Revenue {
    pub total: Sums,
    pub by_day: BTreeMap<NaiveDate, Sums>,
    pub by_professional: BTreeMap<String, Sums>,
    pub by_service: BTreeMap<String, Sums>,
    pub by_method: BTreeMap<&'static str, Sums>,
}

/// The group name of a line without a professional or service (a payment with no
/// appointment, e.g. a copy of an exam sold at the desk).
pub const NONE: &str = "Sem consulta";

impl Revenue {
    /// Count a line in its day (in the clinic's zone) and in each of its groups.
    pub fn add(&mut self, line: &RevenueLine, tz: Tz) {
        self.total.add(line.cents);
        let day = line.at.with_timezone(&tz).date_naive();
        self.by_day.entry(day).or_default().add(line.cents);
        let pro = line.professional.as_deref().unwrap_or(NONE);
        self.by_professional
            .entry(pro.to_string())
            .or_default()
            .add(line.cents);
        let service = match (&line.service, line.appointment_id) {
            (Some(s), _) => s.as_str(),
            (None, Some(_)) => "Sem serviço definido",
            (None, None) => NONE,
        };
        self.by_service
            .entry(service.to_string())
            .or_default()
            .add(line.cents);
        self.by_method
            .entry(line.method)
            .or_default()
            .add(line.cents);
    }
}

/// The CSV dialect: `;` with decimal comma (Excel in pt-BR), or `,` with decimal point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Semicolon,
    Comma,
}

impl Dialect {
    fn sep(self) -> char {
        match self {
            Dialect::Semicolon => ';',
            Dialect::Comma => ',',
        }
    }

    /// Centavos as a spreadsheet number: `1234,56` or `1234.56` (no thousands separator).
    pub fn amount(self, cents: i64) -> String {
        let point = super::decimal(cents);
        match self {
            Dialect::Semicolon => point.replace('.', ","),
            Dialect::Comma => point,
        }
    }

    /// One cell: quoted when it holds the separator, a quote or a line break; text that a
    /// spreadsheet would take as a formula (`=`, `+`, `-`, `@`, tab, CR) gets a leading `'`.
    pub fn cell(self, value: &str) -> String {
        let mut v = String::with_capacity(value.len() + 2);
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
            v.push('\'');
        }
        v.push_str(value);
        if v.contains([self.sep(), '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v
        }
    }

    /// A row of already-formatted cells, ended by CRLF (RFC 4180).
    pub fn row<'a>(self, cells: impl IntoIterator<Item = &'a str>) -> String {
        let mut out = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i > 0 {
                out.push(self.sep());
            }
            out.push_str(c);
        }
        out.push_str("\r\n");
        out
    }
}

/// The CSV header, in pt-BR for the accountant.
pub const HEADER: [&str; 9] = [
    "Data",
    "Hora",
    "Lançamento",
    "Forma",
    "Valor (R$)",
    "Profissional",
    "Serviço",
    "Consulta",
    "Data da consulta",
];

/// A revenue line as a CSV row (times in the clinic's zone).
pub fn csv_row(d: Dialect, line: &RevenueLine, tz: Tz) -> String {
    let at = line.at.with_timezone(&tz);
    let appt_at = line
        .appointment_at
        .map(|a| a.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_default();
    let cells = [
        at.format("%d/%m/%Y").to_string(),
        at.format("%H:%M").to_string(),
        d.cell(kind_label(&line.kind)),
        d.cell(method_label(line.method)),
        d.amount(line.cents),
        d.cell(line.professional.as_deref().unwrap_or("")),
        d.cell(line.service.as_deref().unwrap_or("")),
        line.appointment_id
            .map(|a| a.to_string())
            .unwrap_or_default(),
        appt_at,
    ];
    d.row(cells.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cents: i64, method: &'static str, pro: Option<&str>, at: &str) -> RevenueLine {
        RevenueLine {
            at: at.parse().expect("time"),
            kind: if cents > 0 {
                "desk_payment"
            } else {
                "desk_refund"
            }
            .into(),
            cents,
            method,
            appointment_id: pro.map(|_| uuid::Uuid::nil()),
            appointment_at: None,
            professional: pro.map(String::from),
            service: pro.map(|_| "Avaliação ortodôntica".to_string()),
        }
    }

    #[test]
    fn lines_add_up_per_local_day_professional_service_and_method() {
        let tz: Tz = "America/Sao_Paulo".parse().expect("tz");
        let mut r = Revenue::default();
        // 01:30 UTC on the 2nd is still the 1st in São Paulo (UTC−3).
        r.add(
            &line(15_000, "card", Some("Helena"), "2026-03-02T01:30:00Z"),
            tz,
        );
        r.add(
            &line(-5_000, "card", Some("Helena"), "2026-03-02T14:00:00Z"),
            tz,
        );
        r.add(&line(700, "cash", None, "2026-03-02T15:00:00Z"), tz);
        assert_eq!(r.total.received_cents, 15_700);
        assert_eq!(r.total.refunded_cents, 5_000);
        assert_eq!(r.total.net_cents(), 10_700);
        let first: NaiveDate = "2026-03-01".parse().expect("date");
        let second: NaiveDate = "2026-03-02".parse().expect("date");
        assert_eq!(r.by_day[&first].net_cents(), 15_000);
        assert_eq!(r.by_day[&second].net_cents(), -4_300);
        assert_eq!(r.by_professional["Helena"].net_cents(), 10_000);
        assert_eq!(r.by_professional[NONE].net_cents(), 700);
        assert_eq!(r.by_service["Avaliação ortodôntica"].count, 2);
        assert_eq!(r.by_method["card"].refunded_cents, 5_000);
        assert_eq!(r.by_method["cash"].received_cents, 700);
    }

    #[test]
    fn csv_cells_quote_separators_and_neutralise_formulas() {
        let d = Dialect::Semicolon;
        assert_eq!(d.cell("Helena Duarte"), "Helena Duarte");
        assert_eq!(d.cell("Silva; Souza"), "\"Silva; Souza\"");
        assert_eq!(d.cell("Dito \"Zé\""), "\"Dito \"\"Zé\"\"\"");
        assert_eq!(d.cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(d.cell("-1+2"), "'-1+2");
        assert_eq!(Dialect::Comma.cell("Silva; Souza"), "Silva; Souza");
        assert_eq!(Dialect::Comma.cell("a,b"), "\"a,b\"");
        assert_eq!(d.amount(123_456), "1234,56");
        assert_eq!(d.amount(-5), "-0,05");
        assert_eq!(Dialect::Comma.amount(15_000), "150.00");
    }

    #[test]
    fn a_csv_row_is_in_the_clinics_time_with_pt_br_words() {
        let tz: Tz = "America/Sao_Paulo".parse().expect("tz");
        let l = line(15_000, "pix", Some("Helena"), "2026-03-02T01:30:00Z");
        let row = csv_row(Dialect::Semicolon, &l, tz);
        assert_eq!(
            row,
            format!(
                "01/03/2026;22:30;Recebimento no caixa;Pix;150,00;Helena;Avaliação ortodôntica;{};\r\n",
                uuid::Uuid::nil()
            )
        );
    }
}
