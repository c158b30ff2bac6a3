//! Anonymise a clinic's record of a patient where the law allows (LGPD art. 18 IV/VI, with
//! art. 16's retention exceptions). The clinical record is kept 20 years from its last entry
//! (CFM 1.821/2007, Lei 13.787/2018) and money records 5 years (CTN arts. 173–174): those
//! rows stay, and what identifies the person without being needed for them goes — in one
//! transaction with its audit row. The answer says what went, and what stays, until when
//! and why. See `docs/lgpd.md`.

use chrono::{DateTime, Datelike as _, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::export::{RecordExport, gather};
use super::redact::Identifiers;
use super::{Ctx, Requester};
use crate::actors::agenda::appointments::Appointment;
use crate::actors::protocol::Topic;
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::bus::TopicEvent;
use crate::domain::{ClinicId, PatientId, Role, SessionId, ValidationError};
use crate::store::lgpd::erase::AnonymousIdentity;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnonymiseRequest {
    /// Why this is lawful (the data subject's request under art. 18 IV/VI, …): 3–500
    /// characters, kept in the audit log for good — do not write the person's name here.
    pub legal_basis: String,
    /// The patient's full name as registered, typed again.
    pub confirmation: String,
}

/// What one anonymisation did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnonymiseReport {
    pub patient_id: PatientId,
    /// The name the record shows from now on.
    pub display_name: String,
    pub anonymised_at: DateTime<Utc>,
    pub legal_basis: String,
    pub erased: Vec<Erased>,
    /// Appointments still to come that were cancelled.
    pub cancelled_appointments: Vec<uuid::Uuid>,
    /// What the law keeps, how much of it, until when and why.
    pub retained: Vec<Retained>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    /// `identity`, `account_links`, `sessions`, `chat_attachments`, `message_recipients`,
    /// `future_appointments`, `waitlist`, `message_consents`, `live_events`.
    pub what: &'static str,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Retained {
    /// `clinical_record`, `documents`, `chat_messages`, `payments`, `appointments`,
    /// `audit_log`.
    pub what: &'static str,
    pub rows: u64,
    /// The first day it may be erased; none: kept for as long as the installation is.
    pub until: Option<NaiveDate>,
    /// The rule, in Portuguese.
    pub why: &'static str,
}

/// What a committed anonymisation leaves for the live parts of a running node.
#[derive(Debug, Default)]
pub struct Effects {
    pub sessions: Vec<SessionId>,
    pub cancelled: Vec<(uuid::Uuid, String)>,
}

const CLINICAL_WHY: &str = "Prontuário: guardado por 20 anos a partir do último registro (Res. CFM 1.821/2007, Lei 13.787/2018); fica com o nome anonimizado.";
const DOCUMENTS_WHY: &str = "Documentos assinados fazem parte do prontuário (20 anos) e não podem ser alterados sem invalidar a assinatura; guardam o nome e o CPF como foram emitidos.";
const CHAT_WHY: &str = "Conversas com a equipe de saúde integram o registro do atendimento (20 anos, como o prontuário); os arquivos anexados foram apagados.";
const PAYMENTS_WHY: &str = "Registros financeiros e fiscais: 5 anos contados do primeiro dia do ano seguinte ao último lançamento (CTN, arts. 173 e 174).";
const APPOINTMENTS_WHY: &str = "Agenda: data, profissional e situação dos atendimentos sustentam o prontuário e os pagamentos; segue o prazo mais longo deles.";
const AUDIT_WHY: &str = "Registro das operações de tratamento (LGPD, art. 37): a trilha de auditoria é encadeada e nunca se altera; guarda ids, não dados de contato.";

/// The name the record shows once anonymised.
pub fn display_name(patient: PatientId) -> String {
    let simple = patient.0.simple().to_string();
    format!("Paciente anonimizado #{}", &simple[simple.len() - 8..])
}

fn normalized(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Anonymise a clinic's record (its admin, or an operator). Refuses a record anonymised
/// before (409 `already_anonymised`) and a confirmation that is not the record's name (422
/// `confirmation_mismatch`).
pub async fn anonymise(
    ctx: &Ctx<'_>,
    by: Requester<'_>,
    clinic: ClinicId,
    patient: PatientId,
    req: &AnonymiseRequest,
) -> Result<(AnonymiseReport, Effects), AppError> {
    if let Requester::ClinicAdmin(auth) = by {
        auth.require_role(clinic, &[Role::ClinicAdmin])?;
    }
    let legal_basis = super::legal_basis(Some(&req.legal_basis), None)?;
    let store = ctx.store;
    let row = store
        .clinic_patient(clinic, patient)
        .await?
        .ok_or(AppError::NotFound)?;
    if store.patient_anonymised_at(patient).await?.is_some() {
        return Err(already());
    }
    if normalized(&req.confirmation) != normalized(&row.patient.full_name) {
        return Err(ValidationError::new(
            "confirmation_mismatch",
            "digite o nome completo do paciente, como está no cadastro, para confirmar",
        )
        .into());
    }
    // What stays, counted before anything changes.
    let before = gather(ctx, patient).await?;
    let name = display_name(patient);
    let now = ctx.now;
    let p = &row.patient;
    let cpf = p.cpf.clone();
    let formatted_cpf = crate::domain::Cpf::from_stored(cpf.clone()).to_string();
    let ids = Identifiers::new(
        &[p.full_name.as_str(), p.social_name.as_deref().unwrap_or("")],
        &[
            cpf.as_str(),
            formatted_cpf.as_str(),
            p.phone.as_deref().unwrap_or(""),
            p.email.as_deref().unwrap_or(""),
        ],
        &name,
    );
    let birth_year = NaiveDate::from_ymd_opt(p.birth_date.year(), 1, 1).unwrap_or(p.birth_date);
    let birth_enc = ctx
        .cipher
        .encrypt(&birth_year.format("%Y-%m-%d").to_string())?;
    let name_enc = ctx.cipher.encrypt(&name)?;
    let empty_enc = ctx.cipher.encrypt("{}")?;
    let reason_enc = ctx.cipher.encrypt("Cadastro anonimizado a pedido (LGPD)")?;

    let mut tx = store.begin().await?;
    store.overwrite_erased(&mut tx).await?;
    match store.anonymised_at_tx(&mut tx, patient).await? {
        None => return Err(AppError::NotFound),
        Some(Some(_)) => return Err(already()),
        Some(None) => {}
    }
    let rooms = store.chat_rooms_of_patient(&mut tx, patient).await?;
    let linked = store.delete_patient_links(&mut tx, patient).await?;
    // The stored live events that may name the person, before their topics change.
    let mut topics: Vec<String> = rooms.iter().map(|r| format!("chat:{r}")).collect();
    topics.extend(
        before
            .appointments
            .iter()
            .map(|a| format!("consult:{}", a.id)),
    );
    topics.extend(linked.iter().map(|u| Topic::User(*u).to_string()));
    let mut redacted = 0u64;
    for e in store.events_about(&mut tx, clinic, &topics).await? {
        let Ok(plain) = ctx.cipher.open_text(e.payload_enc.clone()) else {
            continue;
        };
        let Ok(mut v) = serde_json::from_str::<Value>(&plain) else {
            continue;
        };
        if ids.json(&mut v) {
            let sealed = ctx.cipher.encrypt(&v.to_string())?;
            store
                .set_topic_event_payload(&mut tx, &e.topic, e.seq, &sealed)
                .await?;
            redacted += 1;
        }
    }
    for (appointment, participants) in store.consult_participants_of(&mut tx, patient).await? {
        if let Some(new) = ids.text(&participants) {
            store
                .set_consult_participants_tx(&mut tx, appointment, &new)
                .await?;
        }
    }
    store
        .anonymise_patient_identity(
            &mut tx,
            patient,
            &AnonymousIdentity {
                full_name: &name,
                birth_date_enc: &birth_enc,
                at: now,
            },
        )
        .await?;
    let mut sessions = Vec::new();
    for u in &linked {
        sessions.extend(
            store
                .revoke_all_sessions(&mut tx, *u, None, "patient_anonymised")
                .await?,
        );
    }
    let attachments = store.erase_chat_attachments(&mut tx, patient).await?;
    let recipients = store
        .erase_outbox_recipients(&mut tx, patient, &empty_enc, now)
        .await?;
    store
        .withdraw_message_consents(&mut tx, patient, now)
        .await?;
    let waitlist = store.cancel_waitlist_of(&mut tx, patient).await?;
    let cancelled = store
        .cancel_future_appointments_of(&mut tx, clinic, patient, now, &reason_enc)
        .await?;
    for (id, kind) in &cancelled {
        if kind == "teleconsultation" {
            store.close_consult_tx(&mut tx, *id).await?;
        }
    }
    store
        .rename_queue_entries_of(&mut tx, patient, &name_enc)
        .await?;
    let retained = retained(&before, cancelled.len());
    let erased = vec![
        erased("identity", 1),
        erased("account_links", before.account_links.len() as u64),
        erased("sessions", sessions.len() as u64),
        erased("chat_attachments", attachments),
        erased("message_recipients", recipients),
        erased("future_appointments", cancelled.len() as u64),
        erased("waitlist", waitlist),
        erased("message_consents", 3),
        erased("live_events", redacted),
    ];
    let audit = by
        .audit("lgpd.anonymised")
        .entity_id(patient)
        .clinic(clinic)
        .details(json!({
            "legal_basis": legal_basis, "via": by.via(),
            "erased": erased.iter().map(|e| json!({"what": e.what, "count": e.count})).collect::<Vec<_>>(),
            "retained": retained.iter().map(|r| json!({"what": r.what, "rows": r.rows, "until": r.until})).collect::<Vec<_>>(),
        }));
    store.append_audit(&mut tx, &audit).await?;
    tx.commit().await?;
    store.checkpoint_after_erasure().await?;
    Ok((
        AnonymiseReport {
            patient_id: patient,
            display_name: name,
            anonymised_at: now,
            legal_basis,
            erased,
            cancelled_appointments: cancelled.iter().map(|(id, _)| *id).collect(),
            retained,
        },
        Effects {
            sessions,
            cancelled,
        },
    ))
}

/// The same, by a clinic's admin through the API, and what it means for live clients:
/// the linked account's connections close, staff screens see the cancelled appointments.
pub async fn anonymise_patient(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    req: &AnonymiseRequest,
) -> Result<AnonymiseReport, AppError> {
    let ctx = Ctx::of(state);
    let (report, effects) =
        anonymise(&ctx, Requester::ClinicAdmin(auth), clinic, patient, req).await?;
    crate::bus::revocation::publish_sessions_revoked(state.bus.as_ref(), &effects.sessions);
    let events = cancelled_events(state, clinic, &effects.cancelled).await?;
    for e in events {
        state.bus.publish(e);
    }
    for (id, kind) in &effects.cancelled {
        if kind == "teleconsultation" {
            state.media.rooms.close_room(*id).await;
        }
    }
    Ok(report)
}

/// `agenda.updated` for each cancelled appointment (stored, so screens that reconnect
/// replay it) and `slots.changed` for the clinic's booking pages.
async fn cancelled_events(
    state: &AppState,
    clinic: ClinicId,
    cancelled: &[(uuid::Uuid, String)],
) -> Result<Vec<TopicEvent>, AppError> {
    if cancelled.is_empty() {
        return Ok(Vec::new());
    }
    let topic = Topic::ClinicAgenda(clinic).to_string();
    let mut events = Vec::new();
    let mut tx = state.store.begin().await?;
    for (id, _) in cancelled {
        let Some(view) = state.store.appointment_view(*id).await? else {
            continue;
        };
        let payload = json!({"appointment": Appointment::from(&view).to_json()});
        let seq = state.store.next_topic_seq(&mut tx, &topic).await?;
        let sealed = state.cipher.encrypt(&payload.to_string())?;
        state
            .store
            .insert_topic_event(&mut tx, &topic, seq, "agenda.updated", &sealed)
            .await?;
        events.push(TopicEvent {
            topic: topic.clone(),
            event: "agenda.updated".into(),
            seq: Some(seq),
            payload,
        });
        let tz: chrono_tz::Tz = view
            .clinic_time_zone
            .parse()
            .unwrap_or(chrono_tz::America::Sao_Paulo);
        events.push(TopicEvent {
            topic: Topic::ClinicSlots(clinic).to_string(),
            event: "slots.changed".into(),
            seq: None,
            payload: json!({"professional_user_id": view.a.professional_user_id,
                            "dates": [view.a.starts_at.with_timezone(&tz).date_naive()]}),
        });
    }
    tx.commit().await?;
    Ok(events)
}

fn already() -> AppError {
    AppError::conflict(
        "already_anonymised",
        "este cadastro já foi anonimizado; não há mais dados de identificação a remover",
    )
}

fn erased(what: &'static str, count: u64) -> Erased {
    Erased { what, count }
}

fn latest(times: impl IntoIterator<Item = DateTime<Utc>>) -> Option<DateTime<Utc>> {
    times.into_iter().max()
}

/// The times a JSON entry of the record carries.
fn times_of(v: &Value) -> Vec<DateTime<Utc>> {
    [
        "created_at",
        "updated_at",
        "measured_at",
        "stopped_at",
        "locked_at",
    ]
    .iter()
    .filter_map(|k| v.get(*k).and_then(Value::as_str))
    .filter_map(|s| s.parse::<DateTime<Utc>>().ok())
    .collect()
}

fn years_after(at: DateTime<Utc>, years: u32) -> NaiveDate {
    at.date_naive()
        .checked_add_months(Months::new(12 * years))
        .unwrap_or(NaiveDate::MAX)
}

/// Five years from the first day of the year after the last entry.
fn fiscal_until(at: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(at.year() + 6, 1, 1).unwrap_or(NaiveDate::MAX)
}

/// What the law keeps of this record, from its export taken before anything changed.
fn retained(r: &RecordExport, cancelled: usize) -> Vec<Retained> {
    let c = &r.clinical_record;
    let entries: Vec<&Value> = c
        .encounters
        .iter()
        .chain(&c.addenda)
        .chain(&c.allergies)
        .chain(&c.problems)
        .chain(&c.vital_signs)
        .chain(&c.medication_stops)
        .chain(&c.withheld)
        .collect();
    let clinical_last = latest(
        entries
            .iter()
            .flat_map(|v| times_of(v))
            .chain(r.documents.iter().map(|d| d.created_at))
            .chain(r.chat_messages.iter().map(|m| m.created_at)),
    );
    let clinical_until = clinical_last.map(|t| years_after(t, 20));
    let p = &r.payments;
    let money_last = latest(
        p.charges
            .iter()
            .flat_map(|c| [Some(c.created_at), c.paid_at])
            .flatten()
            .chain(p.ledger.iter().map(|l| l.created_at))
            .chain(
                p.movements
                    .iter()
                    .filter_map(|m| m.get("at").and_then(Value::as_str))
                    .filter_map(|s| s.parse::<DateTime<Utc>>().ok()),
            ),
    );
    let money_until = money_last.map(fiscal_until);
    let mut out = Vec::new();
    let mut keep = |what, rows: usize, until, why| {
        if rows > 0 {
            out.push(Retained {
                what,
                rows: rows as u64,
                until,
                why,
            });
        }
    };
    keep(
        "clinical_record",
        entries.len(),
        clinical_until,
        CLINICAL_WHY,
    );
    keep(
        "documents",
        r.documents.len(),
        clinical_until,
        DOCUMENTS_WHY,
    );
    keep(
        "chat_messages",
        r.chat_messages.len(),
        clinical_until,
        CHAT_WHY,
    );
    keep(
        "payments",
        p.charges.len() + p.movements.len() + p.ledger.len(),
        money_until,
        PAYMENTS_WHY,
    );
    let appointments_until = [
        clinical_until,
        money_until,
        latest(r.appointments.iter().map(|a| a.starts_at)).map(fiscal_until),
    ]
    .into_iter()
    .flatten()
    .max();
    keep(
        "appointments",
        r.appointments.len().max(cancelled),
        appointments_until,
        APPOINTMENTS_WHY,
    );
    keep("audit_log", r.access_log.len().max(1), None, AUDIT_WHY);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fiscal_term_counts_from_the_next_first_of_january() {
        let at: DateTime<Utc> = "2026-03-10T12:00:00Z".parse().expect("time");
        assert_eq!(
            fiscal_until(at),
            NaiveDate::from_ymd_opt(2032, 1, 1).expect("date")
        );
        assert_eq!(
            years_after(at, 20),
            NaiveDate::from_ymd_opt(2046, 3, 10).expect("date")
        );
    }

    #[test]
    fn the_display_name_ends_with_the_random_part_of_the_id() {
        let id: PatientId = "0190c1d2-0000-7000-8000-00000000abcd".parse().expect("id");
        assert_eq!(display_name(id), "Paciente anonimizado #0000abcd");
    }
}
