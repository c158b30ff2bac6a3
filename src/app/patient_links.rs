//! Identity by proof: an account reaches a clinic's patient record only by proving control.
//!
//! Staff of the clinic that owns a record issue a one-time code for it (shown at the front
//! desk); the patient, logged in, types it; the account is then linked to that record and
//! sees its appointments, documents and chat. A CPF or birth-date match never links
//! anything: at most it leaves a `suggested` row for the clinic's staff. Staff and the
//! patient can revoke a link. Every transition is audited. The states and who moves them
//! are in `docs/security.md` ("Patient identity").
//!
//! A code is a public selector (5 characters, 25 bits, looked up) and a secret (10 characters,
//! 50 bits, only its hash stored), from an alphabet without look-alike characters. A wrong
//! secret counts against that code; the fifth kills it. Redeeming is also throttled per
//! account and per address, like login.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::patients::staff_record;
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId, UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::patient_links::{
    LinkedRecordRow, PatientLinkListRow, PatientLinkRow, SelfServiceRecord,
};
use crate::store::patients::PatientRow;
use crate::store::{self, Tx};

/// Wrong secrets a code survives; the next one kills it.
pub const MAX_CODE_FAILURES: i32 = 5;
/// How long a front-desk code stays valid.
pub const CODE_TTL_HOURS: i64 = 72;
/// Crockford's base32: 32 symbols (5 bits each); I, L, O and U are left out, and typed
/// O, I and L are read as 0, 1 and 1.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SELECTOR_LEN: usize = 5;
const SECRET_LEN: usize = 10;
// A typed code carries at least 40 secret bits (#16).
const _: () = assert!(SECRET_LEN * 5 >= 40);

/// A link (or proof, or suggestion) as the clinic's staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientLinkView {
    pub id: uuid::Uuid,
    /// `suggested`, `pending`, `linked` or `revoked`.
    pub state: String,
    /// `front_desk_code` (proof issued by staff), `contact_link` (a one-time link e-mailed
    /// to the record's address on file), `self_service` (the record was created by the
    /// patient's own booking), `suggestion` (a CPF match: grants nothing) or
    /// `staff_confirmed` (a suggestion the staff confirmed in person).
    pub method: String,
    /// The account on the other side (none while a proof is pending).
    pub account_name: Option<String>,
    pub account_email: Option<String>,
    pub failed_attempts: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub linked_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `revoked_by_staff`, `revoked_by_patient`, `too_many_attempts`, `expired`.
    pub revoked_reason: Option<String>,
}

impl From<PatientLinkListRow> for PatientLinkView {
    fn from(r: PatientLinkListRow) -> Self {
        Self {
            id: r.link.id,
            state: r.link.state,
            method: r.link.method,
            account_name: r.account_name,
            account_email: r.account_email,
            failed_attempts: r.link.failed_attempts,
            expires_at: r.link.expires_at,
            created_at: r.link.created_at,
            linked_at: r.link.linked_at,
            revoked_at: r.link.revoked_at,
            revoked_reason: r.link.revoked_reason,
        }
    }
}

/// A freshly issued front-desk code: shown once, never stored in clear.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedCode {
    pub link_id: uuid::Uuid,
    /// `XXXXX-XXXXX-XXXXX`; the patient types it (hyphens and case do not matter).
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// A clinic record the caller's account is linked to.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedRecordView {
    pub link_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    /// The clinic's record: use it where a route asks for the patient at that clinic.
    pub patient_id: PatientId,
    pub method: String,
    pub linked_at: Option<DateTime<Utc>>,
}

impl From<LinkedRecordRow> for LinkedRecordView {
    fn from(r: LinkedRecordRow) -> Self {
        Self {
            link_id: r.link_id,
            clinic_id: r.clinic_id,
            clinic_name: r.clinic_name,
            patient_id: r.patient_id,
            method: r.method,
            linked_at: r.linked_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    /// The code the clinic gave, e.g. `K7PQ5-3MXR2-9TB4W`.
    pub code: String,
}

fn random_symbols(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    // 32 divides 256: masking keeps every symbol equally likely.
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect()
}

/// The stored form of a code's secret: keyed (the installation's link key), so the 50 bits
/// cannot be brute-forced from a copy of the database within the code's life.
fn secret_hash(state: &AppState, link: uuid::Uuid, secret: &str) -> String {
    state
        .links
        .keyed_digest("patient-link-code", &format!("{link}:{secret}"))
}

/// Upper case, hyphens and spaces dropped; `None` unless it has the code's shape.
fn normalize_code(code: &str) -> Option<(String, String)> {
    let s: String = code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (s.len() == SELECTOR_LEN + SECRET_LEN && s.bytes().all(|b| ALPHABET.contains(&b))).then(|| {
        let (sel, secret) = s.split_at(SELECTOR_LEN);
        (sel.to_string(), secret.to_string())
    })
}

fn invalid_code() -> AppError {
    ValidationError::new(
        "invalid_link_code",
        "código inválido ou expirado; peça um novo código à clínica",
    )
    .into()
}

/// Who moves a link: a user (staff or the patient) from an address, or the system.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user: Option<UserId>,
    pub ip: Option<String>,
}

impl From<&Auth> for Actor {
    fn from(a: &Auth) -> Self {
        Self {
            user: Some(a.user_id),
            ip: a.ip.clone(),
        }
    }
}

pub(crate) fn audit(by: &Actor, action: &'static str, l: &PatientLinkRow) -> AuditEvent {
    AuditEvent::new(by.user, action, "patient_link")
        .entity_id(l.id)
        .clinic(l.clinic_id)
        .ip(by.ip.clone())
        .details(serde_json::json!({"patient_id": l.patient_id, "state": l.state}))
}

/// Staff of the clinic issue a one-time code for one of its own records (`not_found` for
/// any record the clinic does not own).
pub async fn issue_code(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<IssuedCode, AppError> {
    staff_record(state, auth, clinic, patient).await?;
    issue(state, &Actor::from(auth), clinic, patient).await
}

/// Issue a code for a record the caller already checked is `clinic`'s (staff, or the
/// demo data as the system).
pub async fn issue(
    state: &AppState,
    by: &Actor,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<IssuedCode, AppError> {
    let now = store::now();
    let expires_at = now + Duration::hours(CODE_TTL_HOURS);
    // A selector clash with a live code is rare (25 bits; spent codes free theirs): draw
    // again then.
    for _ in 0..5 {
        let id = uuid::Uuid::now_v7();
        let selector = random_symbols(SELECTOR_LEN);
        let secret = random_symbols(SECRET_LEN);
        let link = PatientLinkRow {
            id,
            code_selector: Some(selector.clone()),
            code_hash: Some(secret_hash(state, id, &secret)),
            expires_at: Some(expires_at),
            ..PatientLinkRow::new(
                clinic,
                patient,
                None,
                "pending",
                "front_desk_code",
                by.user,
                now,
            )
        };
        let mut tx = state.store.begin().await?;
        match state.store.insert_patient_link(&mut tx, &link).await {
            Err(store::StoreError::Conflict(_)) => continue,
            other => other?,
        }
        state
            .store
            .append_audit(&mut tx, &audit(by, "patient_link.code_issued", &link))
            .await?;
        tx.commit().await?;
        return Ok(IssuedCode {
            link_id: id,
            code: format!("{selector}-{}-{}", &secret[..5], &secret[5..]),
            expires_at,
        });
    }
    Err(AppError::Unexpected(anyhow::anyhow!(
        "no free code selector after 5 draws"
    )))
}

/// The logged-in caller redeems a code: their account is linked to the clinic's record.
/// Every failure answers the same `invalid_link_code`; a wrong secret counts against the
/// code and the fifth kills it.
pub async fn redeem_code(
    state: &AppState,
    auth: &Auth,
    body: &RedeemRequest,
) -> Result<LinkedRecordView, AppError> {
    // Only the account itself can spend its budget (it is logged in), so no stranger can
    // lock it out of redeeming.
    let account = format!("link-code:{}", auth.user_id);
    let address = auth.ip.as_deref().unwrap_or("unknown");
    state
        .throttle
        .check(&account, address, false)
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let outcome = redeem(state, &Actor::from(auth), auth.user_id, &body.code).await;
    if outcome.is_ok() {
        state.throttle.succeeded(&account, address, false).await;
    } else {
        state.throttle.failed(&account, address).await;
    }
    outcome
}

/// Spend a code for `user` (no throttle: [`redeem_code`] is the public path).
pub async fn redeem(
    state: &AppState,
    by: &Actor,
    user: UserId,
    code: &str,
) -> Result<LinkedRecordView, AppError> {
    let Some((selector, secret)) = normalize_code(code) else {
        return Err(invalid_code());
    };
    let mut tx = state.store.begin().await?;
    let Some(mut link) = state
        .store
        .patient_link_by_selector(&mut tx, &selector)
        .await?
        .filter(|l| l.state == "pending")
    else {
        return Err(invalid_code());
    };
    let now = store::now();
    if link.expires_at.is_some_and(|e| e <= now) {
        revoke_in(
            state,
            &mut tx,
            by,
            &mut link,
            "expired",
            "patient_link.expired",
        )
        .await?;
        tx.commit().await?;
        return Err(invalid_code());
    }
    if link.code_hash.as_deref() != Some(secret_hash(state, link.id, &secret).as_str()) {
        link.failed_attempts += 1;
        if link.failed_attempts >= MAX_CODE_FAILURES {
            revoke_in(
                state,
                &mut tx,
                by,
                &mut link,
                "too_many_attempts",
                "patient_link.code_killed",
            )
            .await?;
        } else {
            state.store.update_patient_link(&mut tx, &link).await?;
            state
                .store
                .append_audit(&mut tx, &audit(by, "patient_link.code_failed", &link))
                .await?;
        }
        tx.commit().await?;
        return Err(invalid_code());
    }
    link.state = "linked".into();
    link.user_id = Some(user);
    link.linked_at = Some(now);
    state.store.update_patient_link(&mut tx, &link).await?;
    state
        .store
        .append_audit(&mut tx, &audit(by, "patient_link.linked", &link))
        .await?;
    tx.commit().await?;
    linked_view(state, link).await
}

/// A link just made, as the account that made it sees it.
pub(crate) async fn linked_view(
    state: &AppState,
    link: PatientLinkRow,
) -> Result<LinkedRecordView, AppError> {
    let clinic_name = state
        .store
        .clinic_by_id(link.clinic_id)
        .await?
        .map(|c| c.name)
        .unwrap_or_default();
    Ok(LinkedRecordView {
        link_id: link.id,
        clinic_id: link.clinic_id,
        clinic_name,
        patient_id: link.patient_id,
        method: link.method,
        linked_at: link.linked_at,
    })
}

async fn revoke_in(
    state: &AppState,
    tx: &mut Tx,
    by: &Actor,
    link: &mut PatientLinkRow,
    reason: &str,
    action: &'static str,
) -> Result<(), AppError> {
    link.state = "revoked".into();
    link.revoked_at = Some(store::now());
    link.revoked_reason = Some(reason.into());
    state.store.update_patient_link(tx, link).await?;
    state
        .store
        .append_audit(tx, &audit(by, action, link))
        .await?;
    Ok(())
}

/// The links, proofs and suggestions of one of the clinic's records (its staff).
pub async fn record_links(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<Vec<PatientLinkView>, AppError> {
    staff_record(state, auth, clinic, patient).await?;
    Ok(state
        .store
        .links_of_record(clinic, patient)
        .await?
        .into_iter()
        .map(PatientLinkView::from)
        .collect())
}

/// Staff end a link, a pending code or a suggestion of one of the clinic's records.
pub async fn revoke_by_staff(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    link_id: uuid::Uuid,
) -> Result<(), AppError> {
    auth.require_staff(clinic)?;
    let mut tx = state.store.begin().await?;
    let mut link = state
        .store
        .patient_link(&mut tx, link_id)
        .await?
        .filter(|l| l.clinic_id == clinic && l.patient_id == patient)
        .ok_or(AppError::NotFound)?;
    if link.state == "revoked" {
        return Ok(());
    }
    let linked_user = link.user_id.filter(|_| link.state == "linked");
    revoke_in(
        state,
        &mut tx,
        &Actor::from(auth),
        &mut link,
        "revoked_by_staff",
        "patient_link.revoked",
    )
    .await?;
    tx.commit().await?;
    close_live_access(state, linked_user);
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSuggestionRequest {
    /// The staff member saw the person and an identity document with that CPF. Must be
    /// `true`: a CPF match alone proves nothing.
    pub identity_checked: bool,
}

/// What confirming a suggestion did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmedSuggestion {
    pub link_id: uuid::Uuid,
    /// Now `linked`, by method `staff_confirmed`.
    pub state: String,
    /// The patient's self-service record at this clinic that was folded into this one
    /// (its bookings, waitlist entries, arrivals, conversations and messages now belong
    /// here, and it no longer exists), if they had one.
    pub folded_record: Option<PatientId>,
    /// Rows moved from it.
    pub moved_rows: u64,
}

/// Staff confirm that the account behind a suggestion is the person of this clinic's record
/// (they saw them and their document): the account is linked to the record, and the record
/// the patient's own booking made here is folded into it, so the clinic keeps one record of
/// the person. A record that already carries clinical or financial rows is not folded (409
/// `merge_blocked`): the staff issue a code instead, and both records stay.
pub async fn confirm_suggestion(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    link_id: uuid::Uuid,
    body: ConfirmSuggestionRequest,
) -> Result<ConfirmedSuggestion, AppError> {
    auth.require_staff(clinic)?;
    if !body.identity_checked {
        return Err(ValidationError::new(
            "identity_not_checked",
            "confirme que conferiu a identidade da pessoa e o documento com o CPF",
        )
        .into());
    }
    let mut tx = state.store.begin().await?;
    let mut link = state
        .store
        .patient_link(&mut tx, link_id)
        .await?
        .filter(|l| l.clinic_id == clinic && l.patient_id == patient)
        .ok_or(AppError::NotFound)?;
    let user = link.user_id.ok_or(AppError::NotFound)?;
    if link.state != "suggested" {
        return Err(AppError::conflict(
            "not_a_suggestion",
            "só uma sugestão pode ser confirmada",
        ));
    }
    let linked = state
        .store
        .accounts_linked_to(&mut tx, clinic, patient)
        .await?;
    if linked.iter().any(|u| *u != user) {
        return Err(AppError::conflict(
            "record_already_linked",
            "este cadastro já está vinculado a outra conta",
        ));
    }
    let folded = state
        .store
        .self_service_record(&mut tx, clinic, user)
        .await?
        .filter(|s| *s != patient);
    let by = Actor::from(auth);
    let mut moved_rows = 0;
    if let Some(from) = folded {
        if let Some(table) = state.store.merge_blocker(&mut tx, from, patient).await? {
            tracing::info!(table, "suggestion not folded");
            return Err(AppError::conflict(
                "merge_blocked",
                "o cadastro feito pelo paciente já tem registros clínicos, financeiros ou uma \
                 conversa com o mesmo profissional; vincule com um código e mantenha os dois",
            ));
        }
        moved_rows = state.store.fold_patient(&mut tx, from, patient).await?;
        state
            .store
            .append_audit(
                &mut tx,
                &AuditEvent::new(by.user, "patient.merged", "patient")
                    .entity_id(patient)
                    .clinic(clinic)
                    .ip(by.ip.clone())
                    .details(serde_json::json!({"folded": from, "moved_rows": moved_rows})),
            )
            .await?;
    }
    link.state = "linked".into();
    link.method = "staff_confirmed".into();
    link.linked_at = Some(store::now());
    state.store.update_patient_link(&mut tx, &link).await?;
    state
        .store
        .append_audit(&mut tx, &audit(&by, "patient_link.linked", &link))
        .await?;
    tx.commit().await?;
    // The account's live connections re-join what it may now (the folded record is gone).
    close_live_access(state, Some(user));
    Ok(ConfirmedSuggestion {
        link_id: link.id,
        state: link.state,
        folded_record: folded,
        moved_rows,
    })
}

/// The account that lost a link loses what its open connections joined through it at once,
/// on every node: they close with 4002 `access changed` and a reconnect joins only what the
/// account still may (the same as a role taken away).
fn close_live_access(state: &AppState, user: Option<UserId>) {
    if let Some(user) = user {
        crate::bus::revocation::publish_access_changed(state.bus.as_ref(), user);
    }
}

/// The clinic records linked to the caller's account.
pub async fn my_links(state: &AppState, user: UserId) -> Result<Vec<LinkedRecordView>, AppError> {
    Ok(state
        .store
        .linked_records_of(user)
        .await?
        .into_iter()
        .map(LinkedRecordView::from)
        .collect())
}

/// The patient ends one of their links: the account stops seeing that clinic's record.
pub async fn revoke_by_patient(
    state: &AppState,
    auth: &Auth,
    link_id: uuid::Uuid,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    let mut link = state
        .store
        .patient_link(&mut tx, link_id)
        .await?
        .filter(|l| l.user_id == Some(auth.user_id) && l.state == "linked")
        .ok_or(AppError::NotFound)?;
    revoke_in(
        state,
        &mut tx,
        &Actor::from(auth),
        &mut link,
        "revoked_by_patient",
        "patient_link.revoked",
    )
    .await?;
    tx.commit().await?;
    close_live_access(state, Some(auth.user_id));
    Ok(())
}

/// The caller's record at a clinic for a self-service action (booking, waitlist).
#[derive(Debug)]
pub enum SelfRecord {
    /// The record already linked to their account there.
    Linked(PatientId),
    /// A new record of the clinic, to write in the action's own transaction.
    New(Box<SelfServiceRecord>),
}

impl SelfRecord {
    pub fn id(&self) -> PatientId {
        match self {
            SelfRecord::Linked(p) => *p,
            SelfRecord::New(r) => r.patient.id,
        }
    }

    /// The record to write with the action, if it is new.
    pub fn into_new(self) -> Option<SelfServiceRecord> {
        match self {
            SelfRecord::Linked(_) => None,
            SelfRecord::New(r) => Some(*r),
        }
    }
}

/// Which record a patient's own booking or waitlist entry at `clinic` is for: the one
/// linked to their account there (`wanted`, if they named one of theirs), or else a new
/// record of the clinic made from their profile and linked to them — they prove control by
/// being the account. Where the clinic already has records with that CPF none of them is
/// touched: each gets a `suggested` row for its staff. Nothing is written here: the caller
/// writes a new record in its own transaction, so a refused request leaves none. Callers
/// without a profile are refused (`forbidden`); an unknown clinic is `not_found`.
pub async fn self_record(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    wanted: Option<PatientId>,
) -> Result<SelfRecord, AppError> {
    if let Some(p) = wanted.filter(|p| auth.linked.contains(&(clinic, *p))) {
        return Ok(SelfRecord::Linked(p));
    }
    if let Some(p) = auth.record_at(clinic) {
        return Ok(SelfRecord::Linked(p));
    }
    let profile_id = auth.patient_id.ok_or(AppError::Forbidden)?;
    state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let profile = state
        .store
        .patient_by_id(profile_id)
        .await?
        .ok_or(AppError::Forbidden)?;
    let known = state
        .store
        .clinic_patients_by_cpf(clinic, &profile.cpf)
        .await?;
    let now = store::now();
    let patient = PatientRow {
        id: PatientId::new(),
        user_id: None,
        created_at: now,
        updated_at: now,
        ..profile
    };
    let by = Actor::from(auth);
    let me = Some(auth.user_id);
    let new_link = |patient: PatientId, state: &str, method: &str| {
        PatientLinkRow::new(clinic, patient, me, state, method, me, now)
    };
    let link = new_link(patient.id, "linked", "self_service");
    let mut audits = vec![
        AuditEvent::new(Some(auth.user_id), "patient.self_registered", "patient")
            .entity_id(patient.id)
            .clinic(clinic)
            .ip(auth.ip.clone()),
        audit(&by, "patient_link.linked", &link),
    ];
    let mut links = vec![link];
    for other in known {
        if state.store.has_suggestion(other.id, auth.user_id).await? {
            continue;
        }
        let s = new_link(other.id, "suggested", "suggestion");
        audits.push(audit(&by, "patient_link.suggested", &s));
        links.push(s);
    }
    Ok(SelfRecord::New(Box::new(SelfServiceRecord {
        clinic,
        patient,
        links,
        audits,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_32_symbols_and_normalize_what_people_type() {
        let mut symbols: Vec<u8> = ALPHABET.to_vec();
        symbols.sort_unstable();
        symbols.dedup();
        assert_eq!(symbols.len(), 32, "32 distinct symbols, 5 bits each");
        let code = format!("{}-{}", random_symbols(5), random_symbols(10));
        let (sel, secret) = normalize_code(&code.to_lowercase()).expect("valid");
        assert_eq!(sel.len(), 5);
        assert_eq!(secret.len(), 10);
        assert!(normalize_code("ABCDE-FGHJ").is_none());
        assert!(
            normalize_code("ABCDE-FGHJK-MNPQU").is_none(),
            "U is not a symbol"
        );
        assert_eq!(
            normalize_code("abcde fghjk-mnpqo"),
            Some(("ABCDE".into(), "FGHJKMNPQ0".into()))
        );
    }
}
