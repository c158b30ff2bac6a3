//! A link to the contact on file: the clinic's staff send the patient, at the e-mail the
//! clinic's record holds, a one-time link (256 random bits, only their SHA-256 kept, valid
//! [`CODE_TTL_HOURS`] hours on the application's clock). Whoever opens it while logged in
//! proves control of that mailbox, and their account is linked to the record — the same
//! proof as the front-desk code, delivered where the clinic already reaches the person.
//! Failures all answer `invalid_link` and count against the address like other secret
//! lookups (`security.limits.verification_misses_per_address`).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::patient_links::{Actor, CODE_TTL_HOURS, LinkedRecordView, audit, linked_view};
use crate::app::patients::staff_record;
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId, ValidationError};
use crate::security::tokens::{random_token, token_hash};
use crate::store::outbox::NewMessage;
use crate::store::patient_links::PatientLinkRow;

/// The web page a link opens (the token follows).
pub const LINK_PAGE: &str = "/#/vincular/";
/// The method of links sent to the contact on file.
pub const METHOD: &str = "contact_link";

/// A link sent (the token itself is only in the e-mail).
#[derive(Debug, Serialize, ToSchema)]
pub struct SentLink {
    pub link_id: uuid::Uuid,
    /// The address on file, masked (`li•••@exemplo.com.br`).
    pub sent_to: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptLinkRequest {
    /// The token at the end of the link (`/#/vincular/<token>`).
    pub token: String,
}

fn invalid_link() -> AppError {
    AppError::bad_request(
        "invalid_link",
        "este link de vínculo é inválido, expirou ou já foi usado; peça outro à clínica",
    )
}

/// Staff of the clinic send the record's e-mail on file a one-time link.
pub async fn send_link(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<SentLink, AppError> {
    let record = staff_record(state, auth, clinic, patient).await?;
    let Some(email) = record.patient.email.filter(|e| !e.trim().is_empty()) else {
        return Err(ValidationError::new(
            "no_email_on_file",
            "este cadastro não tem e-mail; cadastre um ou gere um código de acesso",
        )
        .into());
    };
    let token = random_token();
    let now = state.clock.now();
    let expires_at = now + Duration::hours(CODE_TTL_HOURS);
    let by = Actor::from(auth);
    let link = PatientLinkRow {
        code_hash: Some(token_hash(&token)),
        expires_at: Some(expires_at),
        ..PatientLinkRow::new(clinic, patient, None, "pending", METHOD, by.user, now)
    };
    let name = record
        .patient
        .social_name
        .as_deref()
        .unwrap_or(&record.patient.full_name)
        .to_owned();
    let payload = json!({
        "name": name,
        "hours": CODE_TTL_HOURS,
        "link_path": format!("{LINK_PAGE}{token}"),
    });
    let message = NewMessage {
        clinic: Some(clinic),
        patient: Some(patient),
        channel: "email",
        template: "patient_link_invitation".into(),
        to_address: Some(email.clone()),
        ..Default::default()
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_patient_link(&mut tx, &link).await?;
    state
        .store
        .insert_message(&mut tx, &message, &payload)
        .await?;
    state
        .store
        .append_audit(&mut tx, &audit(&by, "patient_link.link_sent", &link))
        .await?;
    tx.commit().await?;
    Ok(SentLink {
        link_id: link.id,
        sent_to: crate::domain::recipient::masked(&email),
        expires_at,
    })
}

/// The logged-in caller opens a link: their account is linked to the record it was sent for.
pub async fn accept_link(
    state: &AppState,
    auth: &Auth,
    body: AcceptLinkRequest,
) -> Result<LinkedRecordView, AppError> {
    let address = auth.ip.clone().unwrap_or_else(|| "unknown".into());
    state
        .lookups
        .check(&address)
        .await
        .map_err(|retry_after_secs| AppError::TooManyRequests { retry_after_secs })?;
    let token = body.token.trim();
    let mut tx = state.store.begin().await?;
    let found = if token.is_empty() || token.len() > 128 {
        None
    } else {
        state
            .store
            .pending_link_by_hash(&mut tx, &token_hash(token), METHOD)
            .await?
    };
    let now = state.clock.now();
    let Some(mut link) = found.filter(|l| l.expires_at.is_some_and(|e| e > now)) else {
        drop(tx);
        state.lookups.missed(&address).await;
        return Err(invalid_link());
    };
    if !state
        .store
        .claim_pending_link(&mut tx, link.id, auth.user_id, now)
        .await?
    {
        return Err(invalid_link());
    }
    let by = Actor::from(auth);
    link.state = "linked".into();
    link.user_id = Some(auth.user_id);
    link.linked_at = Some(now);
    state
        .store
        .append_audit(&mut tx, &audit(&by, "patient_link.linked", &link))
        .await?;
    tx.commit().await?;
    linked_view(state, link).await
}
