//! The clinic's revenue report (clinic administrators): a period's money in and out by day,
//! professional, service and payment method, from the ledger; and the same lines as a CSV
//! for the accountant, streamed page by page so a year of a large clinic is never held in
//! memory. Every CSV export is audited (financial data leaving the system).

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::reports::period;
use crate::app::state::AppState;
use crate::domain::billing::report::{self, Dialect, Revenue, RevenueLine, Sums};
use crate::domain::{ClinicId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::Store;
use crate::store::reports::RevenueRow;

/// Ledger lines read per query.
const PAGE: i64 = 2_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First local day (clinic's zone), inclusive.
    pub from: NaiveDate,
    /// Last local day, inclusive (at most 366 days in all).
    pub to: NaiveDate,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    /// First local day (clinic's zone), inclusive.
    pub from: NaiveDate,
    /// Last local day, inclusive (at most 366 days in all).
    pub to: NaiveDate,
    /// `semicolon` (default: `;` and decimal comma, for Excel in pt-BR) or `comma`.
    #[serde(default)]
    pub sep: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SumsView {
    pub received_cents: i64,
    pub refunded_cents: i64,
    /// Received − refunded.
    pub net_cents: i64,
    /// Ledger postings counted.
    pub count: i64,
}

impl From<Sums> for SumsView {
    fn from(s: Sums) -> Self {
        SumsView {
            received_cents: s.received_cents,
            refunded_cents: s.refunded_cents,
            net_cents: s.net_cents(),
            count: s.count,
        }
    }
}

/// One group of the report: a day (`YYYY-MM-DD`), a professional, a service or a method.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub key: String,
    /// In pt-BR, for the screen.
    pub label: String,
    pub sums: SumsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevenueReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub time_zone: String,
    pub total: SumsView,
    /// Only days with money.
    pub by_day: Vec<GroupView>,
    pub by_professional: Vec<GroupView>,
    pub by_service: Vec<GroupView>,
    pub by_method: Vec<GroupView>,
}

fn line(r: RevenueRow) -> RevenueLine {
    RevenueLine {
        at: r.created_at,
        method: report::method_of(r.asset_account.as_deref()),
        kind: r.kind,
        cents: r.revenue_cents,
        appointment_id: r.appointment_id,
        appointment_at: r.appointment_at,
        professional: r.professional_name,
        service: r.service_name,
    }
}

fn groups<K: ToString>(
    map: impl IntoIterator<Item = (K, Sums)>,
    label: impl Fn(&str) -> String,
) -> Vec<GroupView> {
    map.into_iter()
        .map(|(k, s)| {
            let key = k.to_string();
            GroupView {
                label: label(&key),
                key,
                sums: s.into(),
            }
        })
        .collect()
}

/// The period's revenue, added up.
pub async fn revenue(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: ReportQuery,
) -> Result<RevenueReport, AppError> {
    let (tz, from, to) = period(state, auth, clinic, q.from, q.to).await?;
    let mut sums = Revenue::default();
    let mut pages = Pages::new(state.store.clone(), clinic, from, to);
    while let Some(page) = pages.next().await? {
        for r in page {
            sums.add(&line(r), tz);
        }
    }
    let mut by_professional = groups(sums.by_professional, str::to_string);
    let mut by_service = groups(sums.by_service, str::to_string);
    let mut by_method = groups(sums.by_method, |m| report::method_label(m).to_string());
    for g in [&mut by_professional, &mut by_service, &mut by_method] {
        g.sort_by_key(|x| std::cmp::Reverse(x.sums.net_cents));
    }
    Ok(RevenueReport {
        from: q.from,
        to: q.to,
        time_zone: tz.name().to_string(),
        total: sums.total.into(),
        by_day: groups(sums.by_day, str::to_string),
        by_professional,
        by_service,
        by_method,
    })
}

/// A CSV export: its file name and its bytes, produced page by page as the client reads.
pub struct CsvExport<S> {
    pub file_name: String,
    pub body: S,
}

/// The period's revenue lines as CSV (audited as `report.exported`).
pub async fn revenue_csv(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: CsvQuery,
) -> Result<CsvExport<impl Stream<Item = Result<Bytes, AppError>> + use<>>, AppError> {
    let dialect = match q.sep.as_deref() {
        None | Some("semicolon") => Dialect::Semicolon,
        Some("comma") => Dialect::Comma,
        Some(_) => {
            return Err(
                ValidationError::new("invalid_separator", "separador: semicolon ou comma").into(),
            );
        }
    };
    let (tz, from, to) = period(state, auth, clinic, q.from, q.to).await?;
    let event = AuditEvent::new(Some(auth.user_id), "report.exported", "clinic")
        .entity_id(clinic.0)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"report": "revenue", "from": q.from, "to": q.to}));
    state.store.record_audit(&event).await?;
    let pages = Pages::new(state.store.clone(), clinic, from, to);
    let body = futures_util::stream::try_unfold(pages, move |mut p| async move {
        let mut out = String::new();
        if !p.started {
            p.started = true;
            out.push_str(report::BOM);
            out.push_str(&dialect.row(report::HEADER));
        }
        let Some(page) = p.next().await? else {
            // An empty period still gets its header.
            return Ok((!out.is_empty()).then(|| (Bytes::from(out), p)));
        };
        for r in page {
            out.push_str(&report::csv_row(dialect, &line(r), tz));
        }
        Ok::<_, AppError>(Some((Bytes::from(out), p)))
    });
    Ok(CsvExport {
        file_name: format!("receitas-{}-a-{}.csv", q.from, q.to),
        body,
    })
}

/// Where a CSV export stands between pages.
struct Pages {
    store: Store,
    clinic: ClinicId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// The last posting sent: its time and ledger id.
    after: (DateTime<Utc>, i64),
    started: bool,
    done: bool,
}

impl Pages {
    fn new(store: Store, clinic: ClinicId, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Pages {
            store,
            clinic,
            from,
            to,
            after: (from, 0),
            started: false,
            done: false,
        }
    }

    /// The next page of postings, or `None` once the period is read.
    async fn next(&mut self) -> Result<Option<Vec<RevenueRow>>, AppError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .store
            .revenue_page(self.clinic, self.from, self.to, self.after, PAGE)
            .await?;
        self.done = (page.len() as i64) < PAGE;
        match page.last() {
            Some(last) => self.after = (last.created_at, last.id),
            None => return Ok(None),
        }
        Ok(Some(page))
    }
}
