//! What a clinic's staff see and set about the messages sent to its patients: each
//! message's delivery state (per patient or per appointment), and how the clinic's
//! messages go out — the sender's name, the reply-to address, the reminders' times and
//! quiet hours. Changes to the settings are audited.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::recipient;
use crate::domain::reminders::ReminderRules;
use crate::domain::role::Role;
use crate::domain::{ClinicId, PatientId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::outbox::{ClinicMessagingRow, MessageFilter, MessageStatus};

/// Which messages to list: a patient's or an appointment's (any staff), or the whole
/// clinic's (its administrators: the outbox view); by state and channel.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    pub patient_id: Option<PatientId>,
    pub appointment_id: Option<uuid::Uuid>,
    /// `queued`, `sending`, `sent`, `delivered`, `read`, `failed`, `dead` or `cancelled`.
    pub status: Option<String>,
    /// `email`, `whatsapp` or `sms`.
    pub channel: Option<String>,
    /// The next page: the messages older than this one (the last of the page before).
    pub before: Option<uuid::Uuid>,
}

/// Messages in one page of the list.
pub const MESSAGES_PAGE: i64 = 200;

/// The states a message is shown in.
const STATES: &[&str] = &[
    "queued",
    "sending",
    "sent",
    "delivered",
    "read",
    "failed",
    "dead",
    "cancelled",
];
/// The channels messages go by.
const CHANNELS: &[&str] = &["email", "whatsapp", "sms"];

/// How a clinic's messages go out.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagingSettings {
    /// The `From` name (empty or null: the clinic's name).
    #[serde(default)]
    pub sender_name: Option<String>,
    /// Where patients' replies go (null: nowhere; the sender is a no-reply address).
    #[serde(default)]
    pub reply_to: Option<String>,
    pub reminders_enabled: bool,
    /// Minutes before the appointment (1 to 4320, at most 5), e.g. `[1440, 120]`.
    pub reminder_offsets_minutes: Vec<u32>,
    /// No reminders from this time (`HH:MM`, clinic's zone)…
    pub quiet_start: String,
    /// …until this one; a reminder that falls in between waits, unless the appointment
    /// starts before they end.
    pub quiet_end: String,
    /// Reminders go by WhatsApp to patients with a phone on file who did not opt out of it
    /// (when the installation has WhatsApp configured); by e-mail otherwise. Left out of a
    /// `PUT`: unchanged.
    #[serde(default)]
    pub whatsapp_enabled: Option<bool>,
    /// Reminders go by SMS to patients with a phone on file who did not opt out of it (when
    /// the installation has SMS configured), where WhatsApp does not reach them; by e-mail
    /// otherwise. Left out of a `PUT`: unchanged.
    #[serde(default)]
    pub sms_enabled: Option<bool>,
    /// Whether this installation has WhatsApp configured (`messaging.whatsapp`): without
    /// it, `whatsapp_enabled` changes nothing. Read only (ignored in a `PUT`).
    #[serde(default)]
    pub whatsapp_available: bool,
    /// Whether this installation has SMS configured (`messaging.sms`). Read only.
    #[serde(default)]
    pub sms_available: bool,
}

/// The clinic's reminder rules (defaults where it set nothing).
pub fn reminder_rules(row: &ClinicMessagingRow) -> ReminderRules {
    let d = ReminderRules::default();
    ReminderRules::parse(
        row.reminders_enabled.unwrap_or(true),
        &row.reminder_offsets
            .as_deref()
            .map(ReminderRules::offsets_from_text)
            .unwrap_or(d.offsets.clone()),
        row.quiet_start.as_deref().unwrap_or("21:00"),
        row.quiet_end.as_deref().unwrap_or("08:00"),
    )
    .unwrap_or(d)
}

/// The delivery state of the clinic's messages to a patient or about an appointment
/// (the clinic's staff), or of all its messages (its administrators), newest first, a page
/// of [`MESSAGES_PAGE`] at a time (`before`: the page after the one that ended there).
pub async fn clinic_messages(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: MessagesQuery,
) -> Result<Vec<MessageStatus>, AppError> {
    auth.require_staff(clinic)?;
    if q.patient_id.is_none()
        && q.appointment_id.is_none()
        && auth.require_role(clinic, &[Role::ClinicAdmin]).is_err()
    {
        return Err(
            ValidationError::new("missing_filter", "informe patient_id ou appointment_id").into(),
        );
    }
    let known = |v: &Option<String>, list: &[&str]| v.as_deref().is_none_or(|v| list.contains(&v));
    if !known(&q.status, STATES) || !known(&q.channel, CHANNELS) {
        return Err(ValidationError::new("invalid_filter", "estado ou canal desconhecido").into());
    }
    let filter = MessageFilter {
        patient: q.patient_id,
        appointment: q.appointment_id,
        status: q.status,
        channel: q.channel,
        before: q.before,
    };
    let mut list = state
        .store
        .clinic_messages(clinic, &filter, MESSAGES_PAGE)
        .await?;
    // Staff see which contact a message used, not the whole address.
    for m in &mut list {
        m.to_address = m.to_address.as_deref().map(recipient::masked);
    }
    Ok(list)
}

/// The clinic's messaging settings (its staff).
pub async fn get_settings(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<MessagingSettings, AppError> {
    auth.require_staff(clinic)?;
    let row = state
        .store
        .clinic_messaging(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let rules = reminder_rules(&row);
    Ok(MessagingSettings {
        sender_name: row.sender_name,
        reply_to: row.reply_to,
        reminders_enabled: rules.enabled,
        reminder_offsets_minutes: rules.offsets,
        quiet_start: rules.quiet_start.format("%H:%M").to_string(),
        quiet_end: rules.quiet_end.format("%H:%M").to_string(),
        whatsapp_enabled: Some(row.whatsapp_enabled.unwrap_or(false)),
        sms_enabled: Some(row.sms_enabled.unwrap_or(false)),
        whatsapp_available: state.settings.messaging.whatsapp.enabled(),
        sms_available: state.settings.messaging.sms.enabled(),
    })
}

/// Change the clinic's messaging settings (its administrators; audited).
pub async fn put_settings(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: MessagingSettings,
) -> Result<MessagingSettings, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let rules = ReminderRules::parse(
        body.reminders_enabled,
        &body.reminder_offsets_minutes,
        &body.quiet_start,
        &body.quiet_end,
    )?;
    let clean = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let sender_name = clean(&body.sender_name);
    if sender_name.as_ref().is_some_and(|n| n.chars().count() > 80) {
        return Err(
            ValidationError::new("invalid_sender_name", "nome do remetente longo demais").into(),
        );
    }
    let reply_to = clean(&body.reply_to);
    if let Some(r) = &reply_to {
        crate::domain::Email::parse(r)?;
    }
    let saved = state.store.clinic_messaging(clinic).await?;
    let whatsapp_enabled = body.whatsapp_enabled.unwrap_or_else(|| {
        saved
            .as_ref()
            .and_then(|r| r.whatsapp_enabled)
            .unwrap_or(false)
    });
    let sms_enabled = body
        .sms_enabled
        .unwrap_or_else(|| saved.as_ref().and_then(|r| r.sms_enabled).unwrap_or(false));
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_clinic_messaging(
            &mut tx,
            clinic,
            sender_name.as_deref(),
            reply_to.as_deref(),
            rules.enabled,
            &rules.offsets_text(),
            &rules.quiet_start.format("%H:%M").to_string(),
            &rules.quiet_end.format("%H:%M").to_string(),
            whatsapp_enabled,
            sms_enabled,
        )
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "clinic.messaging_updated", "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .ip(auth.ip.clone()),
        )
        .await?;
    tx.commit().await?;
    get_settings(state, auth, clinic).await
}
