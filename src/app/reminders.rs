//! Appointment reminders: every node looks, every `messaging.reminder_poll_secs`, for open
//! appointments whose next reminder fell due (by the clinic's rules, on the application's
//! clock) and queues it in the outbox with the signed one-click confirm and cancel links.
//! Each (appointment, start, offset) is recorded in the same transaction as its message,
//! so each reminder is queued once whichever node sees it first; a moved appointment has a
//! new start and so new reminders, and a reminder queued before a move or a cancellation is
//! dropped by the delivery worker instead of being sent.
//!
//! The channel: WhatsApp when the installation has it configured, the clinic turned it on,
//! the patient has a phone on file and did not opt out of it; else SMS on the same terms;
//! e-mail otherwise, unless the patient opted out of that too (then the reminder is recorded
//! as done and nothing goes).

use chrono::Duration;
use serde_json::json;

use crate::actors::agenda::AppointmentLinks;
use crate::app::consents::email_optout_path;
use crate::app::error::AppError;
use crate::app::messages::reminder_rules;
use crate::app::state::AppState;
use crate::domain::reminders::{MAX_OFFSET_MINUTES, ReminderRules};
use crate::store::outbox::{ClinicMessagingRow, NewMessage};
use crate::store::reminders::ReminderCandidate;

/// The template of reminder messages.
pub const REMINDER_TEMPLATE: &str = "appointment_reminder";

fn rules_of(c: &ReminderCandidate) -> ReminderRules {
    reminder_rules(&ClinicMessagingRow {
        clinic_name: String::new(),
        time_zone: c.time_zone.clone(),
        sender_name: None,
        reply_to: None,
        reminders_enabled: c.reminders_enabled,
        reminder_offsets: c.reminder_offsets.clone(),
        quiet_start: c.quiet_start.clone(),
        quiet_end: c.quiet_end.clone(),
        whatsapp_enabled: c.whatsapp_enabled,
        sms_enabled: c.sms_enabled,
    })
}

/// Queue every reminder due now; how many were queued by this call.
pub async fn queue_due_reminders(state: &AppState) -> Result<usize, AppError> {
    let now = state.clock.now();
    let until = now + Duration::minutes(i64::from(MAX_OFFSET_MINUTES));
    let mut queued = 0;
    for c in state.store.reminder_candidates(now, until).await? {
        let tz = c.time_zone.parse().unwrap_or(chrono_tz::America::Sao_Paulo);
        let Some((latest, due)) = rules_of(&c).due_now(c.starts_at, c.created_at, now, tz) else {
            continue;
        };
        if c.done_min
            .is_some_and(|d| i64::from(d) <= i64::from(latest))
        {
            continue;
        }
        if queue_reminder(state, &c, latest, &due).await? {
            queued += 1;
        }
    }
    if queued > 0 {
        metrics::counter!("atende_reminders_queued_total").increment(queued as u64);
    }
    Ok(queued)
}

/// Queue the reminder `latest` minutes before `c`, recording the earlier due ones it
/// supersedes; false when another node queued it first.
async fn queue_reminder(
    state: &AppState,
    c: &ReminderCandidate,
    latest: u32,
    due: &[u32],
) -> Result<bool, AppError> {
    let Some(v) = state.store.appointment_view(c.id).await? else {
        return Ok(false);
    };
    if v.a.starts_at != c.starts_at || !v.a.status.is_open() {
        return Ok(false);
    }
    let payload = json!({
        "appointment_id": v.a.id,
        "patient_name": v.patient_social_name.as_deref().unwrap_or(&v.patient_name),
        "professional_name": v.professional_name,
        "service_name": v.service_name,
        "clinic_name": v.clinic_name,
        "starts_at": v.a.starts_at,
        "kind": v.a.kind,
        "offset_minutes": latest,
        "links": AppointmentLinks::new(&state.links, &v.a),
        "optout_path": email_optout_path(&state.links, v.a.patient_id),
    });
    let channel = reminder_channel(state, c, v.a.patient_id).await?;
    let now = state.clock.now();
    let mut tx = state.store.begin().await?;
    let mut ours = false;
    for o in due {
        let claimed = state
            .store
            .claim_reminder(&mut tx, c.id, c.starts_at, *o as i32, now)
            .await?;
        ours |= claimed && *o == latest;
    }
    let Some(channel) = channel.filter(|_| ours) else {
        tx.commit().await?;
        return Ok(false);
    };
    let message = NewMessage {
        clinic: Some(v.a.clinic_id),
        patient: Some(v.a.patient_id),
        appointment: Some(v.a.id),
        channel,
        template: REMINDER_TEMPLATE.to_string(),
        ..Default::default()
    };
    let id = state
        .store
        .insert_message(&mut tx, &message, &payload)
        .await?;
    state
        .store
        .set_reminder_message(&mut tx, c.id, c.starts_at, latest as i32, id)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The channel a patient's reminder goes by (module docs); None: the patient opted out of
/// every channel there is.
async fn reminder_channel(
    state: &AppState,
    c: &ReminderCandidate,
    patient: crate::domain::PatientId,
) -> Result<Option<&'static str>, AppError> {
    let whatsapp = state.settings.messaging.whatsapp.enabled()
        && c.whatsapp_enabled.unwrap_or(false)
        && state.store.message_phone(Some(patient)).await?.is_some()
        && !state.store.opted_out(patient, "whatsapp").await?;
    if whatsapp {
        return Ok(Some("whatsapp"));
    }
    let sms = state.settings.messaging.sms.enabled()
        && c.sms_enabled.unwrap_or(false)
        && state.store.message_phone(Some(patient)).await?.is_some()
        && !state.store.opted_out(patient, "sms").await?;
    if sms {
        return Ok(Some("sms"));
    }
    if state.store.opted_out(patient, "email").await? {
        return Ok(None);
    }
    Ok(Some("email"))
}

/// Look for due reminders on this node until the process ends.
pub fn spawn(state: actix_web::web::Data<AppState>) {
    let every = std::time::Duration::from_secs(state.settings.messaging.reminder_poll_secs);
    actix_web::rt::spawn(async move {
        let mut tick = actix_web::rt::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = queue_due_reminders(&state).await {
                tracing::warn!(code = e.code(), "reminder scheduling failed");
            }
        }
    });
}
