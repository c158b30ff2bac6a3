//! The front desk's cash register (caixa): a receptionist (or admin) opens a session with the
//! cash in the drawer, records what patients pay at the desk — cash, the card machine (with
//! its NSU), a Pix to the clinic's key — and refunds, and closes it with the count. The
//! closing report gives each method's totals and the drawer's difference. A closed session
//! never changes; a correction is an adjustment an administrator posts with a reason. Every
//! movement posts balanced lines to the ledger and an audit row, in its transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::billing::cash::{self, Kind, Method};
use crate::domain::billing::{self, MAX_CENTS};
use crate::domain::{ClinicId, Role, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::cash::{CashMovementRow, CashSessionRow};

/// Who works the cash register.
const DESK: &[Role] = &[Role::Receptionist, Role::ClinicAdmin];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCash {
    /// The cash in the drawer when it opens (centavos).
    pub opening_cents: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordMovement {
    /// `payment` or `refund`.
    pub kind: String,
    /// `cash`, `card` (the card machine) or `pix`.
    pub method: String,
    /// Centavos, positive.
    pub amount_cents: i64,
    /// The appointment paid for (of this clinic), if any.
    #[serde(default)]
    pub appointment_id: Option<uuid::Uuid>,
    /// The card machine's receipt number (NSU): required for `card`.
    #[serde(default)]
    pub nsu: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseCash {
    /// The cash counted in the drawer at closing (centavos).
    pub counted_cents: i64,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustCash {
    pub method: String,
    /// Signed centavos: + money found, − money missing.
    pub amount_cents: i64,
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CashDay {
    /// The local day (clinic's zone) the sessions were opened.
    pub date: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub id: uuid::Uuid,
    /// `payment`, `refund` or `adjustment`.
    pub kind: String,
    pub method: String,
    pub amount_cents: i64,
    pub appointment_id: Option<uuid::Uuid>,
    pub nsu: Option<String>,
    pub description: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// One method's totals in a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct MethodTotal {
    pub method: String,
    pub payments_cents: i64,
    pub refunds_cents: i64,
    pub adjustments_cents: i64,
    /// Payments − refunds + adjustments.
    pub net_cents: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CashSessionView {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub opened_by: UserId,
    pub opened_at: DateTime<Utc>,
    pub opening_cents: i64,
    /// Open sessions: the cash the drawer should hold now (opening + cash net).
    pub expected_cash_cents: i64,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<UserId>,
    pub counted_cents: Option<i64>,
    /// Counted − expected at closing (negative: missing).
    pub difference_cents: Option<i64>,
    pub note: Option<String>,
    pub totals: Vec<MethodTotal>,
    pub movements: Vec<MovementView>,
}

fn amount(cents: i64) -> Result<i64, ValidationError> {
    if (1..=MAX_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(ValidationError::new(
            "invalid_amount",
            "valor em centavos, de 1 a 100000000",
        ))
    }
}

/// Optional free text, trimmed, at most `max` characters.
fn text(value: Option<String>, max: usize, code: &'static str) -> Result<String, ValidationError> {
    let t = value.unwrap_or_default().trim().to_string();
    if t.chars().count() > max {
        return Err(ValidationError::new(
            code,
            format!("no máximo {max} caracteres"),
        ));
    }
    Ok(t)
}

/// The cash a session's drawer should hold: the opening plus cash taken, minus cash given
/// back (adjustments, which come after closing, are not part of the count).
fn expected_cash(opening: i64, movements: &[CashMovementRow]) -> i64 {
    opening
        + movements
            .iter()
            .filter(|m| m.method == "cash")
            .filter_map(|m| {
                Kind::parse(&m.kind)
                    .ok()
                    .map(|k| cash::signed(k, m.amount_cents))
            })
            .sum::<i64>()
}

fn view(s: CashSessionRow, movements: Vec<CashMovementRow>) -> CashSessionView {
    let totals: Vec<MethodTotal> = Method::ALL
        .iter()
        .map(|m| {
            let of = |kind: &str| -> i64 {
                movements
                    .iter()
                    .filter(|x| x.method == m.as_str() && x.kind == kind)
                    .map(|x| x.amount_cents)
                    .sum()
            };
            let (payments, refunds, adjustments) = (of("payment"), of("refund"), of("adjustment"));
            MethodTotal {
                method: m.as_str().into(),
                payments_cents: payments,
                refunds_cents: refunds,
                adjustments_cents: adjustments,
                net_cents: payments - refunds + adjustments,
            }
        })
        .collect();
    let expected = s
        .expected_cents
        .unwrap_or_else(|| expected_cash(s.opening_cents, &movements));
    CashSessionView {
        id: s.id,
        clinic_id: s.clinic_id,
        opened_by: s.opened_by,
        opened_at: s.opened_at,
        opening_cents: s.opening_cents,
        expected_cash_cents: expected,
        closed_at: s.closed_at,
        closed_by: s.closed_by,
        counted_cents: s.counted_cents,
        difference_cents: s.counted_cents.map(|c| c - expected),
        note: s.note,
        totals,
        movements: movements
            .into_iter()
            .map(|m| MovementView {
                id: m.id,
                kind: m.kind,
                method: m.method,
                amount_cents: m.amount_cents,
                appointment_id: m.appointment_id,
                nsu: m.nsu,
                description: m.description,
                created_by: m.created_by,
                created_at: m.created_at,
            })
            .collect(),
    }
}

fn no_session() -> AppError {
    AppError::conflict("no_open_cash_session", "abra o caixa primeiro")
}

/// Open the caller's cash register in `clinic` (409 `cash_session_open` if it is open).
pub async fn open(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: OpenCash,
) -> Result<CashSessionView, AppError> {
    auth.require_role(clinic, DESK)?;
    let opening = billing::price(req.opening_cents)?;
    let row = CashSessionRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: clinic,
        opened_by: auth.user_id,
        opened_at: state.clock.now(),
        opening_cents: opening,
        closed_at: None,
        closed_by: None,
        counted_cents: None,
        expected_cents: None,
        note: None,
    };
    // One open session per person and clinic: the unique index decides, races included.
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_cash_session(&mut tx, &row)
        .await
        .map_err(|e| match e {
            crate::store::StoreError::Conflict(_) => AppError::conflict(
                "cash_session_open",
                "você já tem um caixa aberto nesta clínica",
            ),
            other => other.into(),
        })?;
    let event = AuditEvent::new(Some(auth.user_id), "cash.opened", "cash_session")
        .entity_id(row.id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"opening_cents": opening}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(view(row, Vec::new()))
}

/// The caller's open session in `clinic`, with its movements and totals (None: closed).
pub async fn current(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Option<CashSessionView>, AppError> {
    auth.require_role(clinic, DESK)?;
    let mut tx = state.store.begin().await?;
    let Some(s) = state
        .store
        .open_cash_session(&mut tx, clinic, auth.user_id)
        .await?
    else {
        return Ok(None);
    };
    let movements = state.store.cash_movements(Some(&mut tx), s.id).await?;
    tx.commit().await?;
    Ok(Some(view(s, movements)))
}

/// Record a payment or refund taken at the desk in the caller's open session.
pub async fn record(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: RecordMovement,
) -> Result<MovementView, AppError> {
    auth.require_role(clinic, DESK)?;
    let kind = Kind::parse(&req.kind)?;
    let method = Method::parse(&req.method)?;
    let cents = amount(req.amount_cents)?;
    let nsu = req
        .nsu
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    match (&nsu, method) {
        (None, Method::Card) => {
            return Err(ValidationError::new(
                "nsu_required",
                "informe o NSU do comprovante da maquininha",
            )
            .into());
        }
        (Some(n), _) if n.len() > 20 || !n.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            return Err(
                ValidationError::new("invalid_nsu", "NSU: até 20 letras ou números").into(),
            );
        }
        _ => {}
    }
    let description = text(req.description, 200, "invalid_description")?;
    let appointment = match req.appointment_id {
        Some(a) => Some(
            state
                .store
                .appointment_view(a)
                .await?
                .filter(|v| v.a.clinic_id == clinic)
                .ok_or_else(|| {
                    ValidationError::new(
                        "unknown_appointment",
                        "consulta não encontrada nesta clínica",
                    )
                })?,
        ),
        None => None,
    };
    let mut tx = state.store.begin().await?;
    let session = state
        .store
        .open_cash_session(&mut tx, clinic, auth.user_id)
        .await?
        .ok_or_else(no_session)?;
    let now = state.clock.now();
    let row = CashMovementRow {
        id: uuid::Uuid::now_v7(),
        session_id: session.id,
        clinic_id: clinic,
        kind: kind.as_str().into(),
        method: method.as_str().into(),
        amount_cents: cents,
        appointment_id: req.appointment_id,
        nsu,
        description,
        created_by: auth.user_id,
        created_at: now,
    };
    state.store.insert_cash_movement(&mut tx, &row).await?;
    let txn = cash::movement(kind, method, &row.id.to_string(), cents)?;
    state
        .store
        .post_ledger(
            &mut tx,
            clinic,
            row.appointment_id,
            Some(auth.user_id),
            &txn,
            now,
        )
        .await?;
    let event = AuditEvent::new(Some(auth.user_id), "cash.movement", "cash_session")
        .entity_id(session.id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"movement_id": row.id, "kind": row.kind,
            "method": row.method, "amount_cents": cents, "appointment_id": row.appointment_id}));
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    if let Some(view) = &appointment {
        // "Pago" on reception's agenda and in the patient's list, live. The movement is
        // committed: a failed push must not tell the desk to record it again (the screens
        // show the right state on their next load).
        if let Err(e) = super::announce_payment(state, view).await {
            tracing::warn!(error = %e, appointment = %view.a.id, "payment.updated after a desk payment not sent");
        }
    }
    Ok(MovementView {
        id: row.id,
        kind: row.kind,
        method: row.method,
        amount_cents: row.amount_cents,
        appointment_id: row.appointment_id,
        nsu: row.nsu,
        description: row.description,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

/// Close the caller's open session with the counted cash: the report, and the difference
/// posted to the ledger.
pub async fn close(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: CloseCash,
) -> Result<CashSessionView, AppError> {
    auth.require_role(clinic, DESK)?;
    let counted = billing::price(req.counted_cents)?;
    let note = text(req.note, 500, "invalid_note")?;
    let mut tx = state.store.begin().await?;
    let mut session = state
        .store
        .open_cash_session(&mut tx, clinic, auth.user_id)
        .await?
        .ok_or_else(no_session)?;
    let movements = state
        .store
        .cash_movements(Some(&mut tx), session.id)
        .await?;
    let expected = expected_cash(session.opening_cents, &movements);
    let now = state.clock.now();
    session.closed_at = Some(now);
    session.closed_by = Some(auth.user_id);
    session.counted_cents = Some(counted);
    session.expected_cents = Some(expected);
    session.note = (!note.is_empty()).then_some(note);
    state.store.close_cash_session(&mut tx, &session).await?;
    if let Some(txn) = cash::difference(&format!("close:{}", session.id), counted - expected) {
        state
            .store
            .post_ledger(&mut tx, clinic, None, Some(auth.user_id), &txn?, now)
            .await?;
    }
    let event = AuditEvent::new(Some(auth.user_id), "cash.closed", "cash_session")
        .entity_id(session.id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(
            serde_json::json!({"expected_cents": expected, "counted_cents": counted,
            "difference_cents": counted - expected, "movements": movements.len()}),
        );
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(view(session, movements))
}

/// The clinic's sessions opened on a local day, with their reports (administrators).
pub async fn sessions_of_day(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: CashDay,
) -> Result<Vec<CashSessionView>, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let tz = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?
        .tz();
    let next = q
        .date
        .succ_opt()
        .ok_or_else(|| ValidationError::new("invalid_date", "data inválida"))?;
    let from = crate::store::agenda::local_midnight(tz, q.date);
    let to = crate::store::agenda::local_midnight(tz, next);
    let mut out = Vec::new();
    for s in state.store.cash_sessions_between(clinic, from, to).await? {
        let movements = state.store.cash_movements(None, s.id).await?;
        out.push(view(s, movements));
    }
    Ok(out)
}

/// Correct a closed session (administrators, with a reason; audited and posted to the
/// ledger). An open session is corrected by its own movements.
pub async fn adjust(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    session_id: uuid::Uuid,
    req: AdjustCash,
) -> Result<MovementView, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let method = Method::parse(&req.method)?;
    if req.amount_cents == 0 || req.amount_cents.unsigned_abs() > MAX_CENTS as u64 {
        return Err(ValidationError::new(
            "invalid_amount",
            "ajuste em centavos, diferente de zero",
        )
        .into());
    }
    let reason = req.reason.trim().to_string();
    if reason.chars().count() < 5 || reason.chars().count() > 300 {
        return Err(ValidationError::new(
            "invalid_reason",
            "explique o ajuste (de 5 a 300 caracteres)",
        )
        .into());
    }
    let session = state
        .store
        .cash_session(session_id)
        .await?
        .filter(|s| s.clinic_id == clinic)
        .ok_or(AppError::NotFound)?;
    if session.closed_at.is_none() {
        return Err(AppError::conflict(
            "cash_session_open",
            "o caixa ainda está aberto: registre o movimento nele",
        ));
    }
    let now = state.clock.now();
    let row = CashMovementRow {
        id: uuid::Uuid::now_v7(),
        session_id,
        clinic_id: clinic,
        kind: "adjustment".into(),
        method: method.as_str().into(),
        amount_cents: req.amount_cents,
        appointment_id: None,
        nsu: None,
        description: reason,
        created_by: auth.user_id,
        created_at: now,
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_cash_movement(&mut tx, &row).await?;
    let txn = cash::adjustment(method, &row.id.to_string(), req.amount_cents)?;
    state
        .store
        .post_ledger(&mut tx, clinic, None, Some(auth.user_id), &txn, now)
        .await?;
    let event = AuditEvent::new(Some(auth.user_id), "cash.adjusted", "cash_session")
        .entity_id(session_id)
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(
            serde_json::json!({"movement_id": row.id, "method": row.method,
            "amount_cents": row.amount_cents}),
        );
    state.store.append_audit(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(MovementView {
        id: row.id,
        kind: row.kind,
        method: row.method,
        amount_cents: row.amount_cents,
        appointment_id: None,
        nsu: None,
        description: row.description,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}
