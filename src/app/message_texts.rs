//! The words of a clinic's e-mails to its patients, as its administrators rewrite them
//! (`domain::message_text`): the list with each message's variables, built-in words and the
//! clinic's own; saving (checked: unknown variables and open braces are refused, naming the
//! field); going back to the built-in words; and a preview with made-up data, through the
//! same rendering the delivery worker uses. Changes are audited.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::ClinicId;
use crate::domain::message_text::{self, Editable, MessageText};
use crate::domain::role::Role;
use crate::messaging::{Outgoing, Sender, templates};
use crate::security::audit::AuditEvent;
use crate::store::message_texts::MessageTextRow;

/// A variable a message's text may use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VariableView {
    /// As written in the text, without the braces: `paciente`.
    pub name: &'static str,
    /// What it becomes (pt-BR).
    pub meaning: &'static str,
}

/// The clinic's own words for a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomText {
    pub subject: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

/// One message a clinic may rewrite.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageTextView {
    /// The outbox template: `appointment_reminder`, `appointment_booked`, …
    pub template: &'static str,
    /// Its name in the editor (pt-BR).
    pub label: &'static str,
    pub variables: Vec<VariableView>,
    /// The built-in words (what goes when `custom` is null).
    #[schema(value_type = Object)]
    pub default: MessageText,
    /// The clinic's words; null: the built-in ones go.
    pub custom: Option<CustomText>,
}

/// Words to save or preview: a subject of one line and a body whose paragraphs are
/// separated by blank lines, with `{{variables}}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageTextInput {
    pub subject: String,
    pub body: String,
}

/// An e-mail as the patient would get it, with made-up data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessagePreview {
    pub subject: String,
    /// The plain-text part, links included.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

fn view(e: &'static Editable, custom: Option<&MessageTextRow>) -> MessageTextView {
    MessageTextView {
        template: e.template,
        label: e.label,
        variables: e
            .variables
            .iter()
            .map(|(name, meaning)| VariableView { name, meaning })
            .collect(),
        default: e.default_text(),
        custom: custom.map(|c| CustomText {
            subject: c.subject.clone(),
            body: c.body.clone(),
            updated_at: c.updated_at,
        }),
    }
}

fn editable(template: &str) -> Result<&'static Editable, AppError> {
    message_text::editable(template).ok_or(AppError::NotFound)
}

/// The audit row of a change to the clinic's words for `e`.
async fn audit(
    state: &AppState,
    tx: &mut crate::store::Tx,
    auth: &Auth,
    clinic: ClinicId,
    action: &'static str,
    e: &Editable,
) -> Result<(), AppError> {
    state
        .store
        .append_audit(
            tx,
            &AuditEvent::new(Some(auth.user_id), action, "clinic")
                .entity_id(clinic)
                .clinic(clinic)
                .details(json!({"template": e.template}))
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(())
}

/// Every message the clinic may rewrite, in the editor's order (its administrators).
pub async fn list(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Vec<MessageTextView>, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let saved = state.store.clinic_message_texts(clinic).await?;
    Ok(message_text::EDITABLE
        .iter()
        .map(|e| view(e, saved.iter().find(|s| s.template == e.template)))
        .collect())
}

async fn one(
    state: &AppState,
    clinic: ClinicId,
    e: &'static Editable,
) -> Result<MessageTextView, AppError> {
    let saved = state.store.clinic_message_texts(clinic).await?;
    Ok(view(e, saved.iter().find(|s| s.template == e.template)))
}

/// Save the clinic's words for `template` (its administrators; checked; audited). Later
/// messages go with them; those already queued too, as they are rendered when sent.
pub async fn save(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    template: &str,
    input: MessageTextInput,
) -> Result<MessageTextView, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let e = editable(template)?;
    let text = e.check(&input.subject, &input.body)?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_clinic_message_text(
            &mut tx,
            clinic,
            e.template,
            &text,
            auth.user_id,
            state.clock.now(),
        )
        .await?;
    audit(
        state,
        &mut tx,
        auth,
        clinic,
        "clinic.message_text_updated",
        e,
    )
    .await?;
    tx.commit().await?;
    one(state, clinic, e).await
}

/// Go back to the built-in words of `template` (its administrators; audited when the clinic
/// had its own).
pub async fn reset(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    template: &str,
) -> Result<MessageTextView, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let e = editable(template)?;
    let mut tx = state.store.begin().await?;
    if state
        .store
        .delete_clinic_message_text(&mut tx, clinic, e.template)
        .await?
    {
        audit(state, &mut tx, auth, clinic, "clinic.message_text_reset", e).await?;
    }
    tx.commit().await?;
    one(state, clinic, e).await
}

/// The e-mail `input` would give, for a made-up patient and appointment (or document) in
/// this clinic, as the clinic's sender (its administrators; the same check as saving).
pub async fn preview(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    template: &str,
    input: MessageTextInput,
) -> Result<MessagePreview, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let e = editable(template)?;
    let text = e.check(&input.subject, &input.body)?;
    let row = state
        .store
        .clinic_messaging(clinic)
        .await?
        .ok_or(AppError::NotFound)?;
    let sender = Sender::of_clinic(row);
    let now = state.clock.now();
    // Tomorrow at 09:00 in the clinic's zone.
    let local = (now + Duration::days(1))
        .with_timezone(&sender.time_zone)
        .date_naive();
    let starts = local
        .and_hms_opt(9, 0, 0)
        .and_then(|t| t.and_local_timezone(sender.time_zone).earliest())
        .map_or(now, |t| t.with_timezone(&Utc));
    // The links lead nowhere: they show where the buttons go.
    let example = |what: &str| format!("/#/exemplo/{what}");
    let payload = match e.template {
        crate::messaging::DOCUMENT_TEMPLATE => {
            json!({"patient_name": "Maria Oliveira", "professional_name": "Dra. Ana Souza",
                   "kind": "prescription", "code": "ABCD2345", "verify_url": example("documento")})
        }
        t => {
            let links = match t {
                "appointment_cancelled" => json!({}),
                "waitlist_offer" => json!({"accept_path": example("aceitar"),
                                           "decline_path": example("recusar")}),
                _ => json!({"confirm_path": example("confirmar"),
                            "cancel_path": example("cancelar")}),
            };
            json!({"patient_name": "Maria Oliveira", "professional_name": "Dra. Ana Souza",
                   "service_name": "Consulta", "starts_at": starts, "kind": "in_person",
                   "links": links})
        }
    };
    let m = Outgoing {
        id: uuid::Uuid::nil(),
        idempotency_key: String::new(),
        template: e.template.to_string(),
        payload,
        to: "maria@exemplo.com.br".into(),
        sender,
        base_url: state.documents.public_url().to_string(),
        created_at: now,
        attachment: None,
        text: Some(text),
    };
    let r = templates::render(&m);
    Ok(MessagePreview {
        subject: r.subject,
        text: r.text,
        html: r.html,
    })
}
