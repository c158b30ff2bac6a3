//! Export everything about a person (LGPD art. 18 II): every row of a patient record,
//! decrypted, as one JSON document of a stable shape (`docs/lgpd.md`: sections per kind,
//! times in ISO 8601 UTC, money in centavos), or a readable PDF summary of it. A clinic's
//! admin exports one of the clinic's records; a patient exports their own profile and every
//! clinic record linked to their account. Each export is audited (`lgpd.exported`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Ctx, DpoView, Requester, dpo};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::patients::PatientIdentityView;
use crate::domain::{ClinicId, PatientId, Role};
use crate::store::lgpd::{
    AuditExportRow, ChargeExportRow, ConsultExportRow, LedgerExportRow, LinkExportRow,
    QueueExportRow, WaitlistExportRow,
};

/// The version of the export's shape; a change that removes or renames a field bumps it.
pub const FORMAT: &str = "atende.lgpd.export.v1";

/// The whole export.
#[derive(Debug, Serialize)]
pub struct Export {
    pub format: &'static str,
    pub generated_at: DateTime<Utc>,
    pub legal_basis: String,
    /// The data protection officer of the installation, when configured.
    pub dpo: Option<DpoView>,
    /// The patient's own account (only in a patient's own export).
    pub account: Option<AccountExport>,
    /// One entry per patient record: a clinic's record, or the account's own profile.
    pub records: Vec<RecordExport>,
}

#[derive(Debug, Serialize)]
pub struct AccountExport {
    pub email: String,
    pub full_name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ClinicRef {
    pub id: ClinicId,
    pub name: String,
    pub cnpj: String,
}

/// Everything about one patient record.
#[derive(Debug, Serialize)]
pub struct RecordExport {
    /// The clinic that owns the record; none for an account's own profile.
    pub clinic: Option<ClinicRef>,
    pub patient: PatientIdentityView,
    pub anonymised_at: Option<DateTime<Utc>>,
    /// The clinic's text about the patient (allergies, notes).
    pub clinic_notes: ClinicNotes,
    pub appointments: Vec<AppointmentExport>,
    pub consultations: Vec<ConsultExportRow>,
    pub queue_entries: Vec<QueueExportRow>,
    pub waitlist: Vec<WaitlistExportRow>,
    pub chat_messages: Vec<ChatMessageExport>,
    pub chat_attachments: Vec<AttachmentExport>,
    pub documents: Vec<DocumentExport>,
    pub clinical_record: ClinicalRecordExport,
    pub payments: PaymentsExport,
    pub messages: Vec<MessageExport>,
    pub message_consents: Vec<ConsentExport>,
    pub account_links: Vec<LinkExportRow>,
    /// Who read or changed the record, from the audit log.
    pub access_log: Vec<AuditExportRow>,
}

#[derive(Debug, Serialize, Default)]
pub struct ClinicNotes {
    pub allergies: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AppointmentExport {
    pub id: uuid::Uuid,
    pub kind: String,
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub professional_name: String,
    pub service_name: Option<String>,
    pub notes: String,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct ChatMessageExport {
    pub room_id: uuid::Uuid,
    pub id: uuid::Uuid,
    pub sender_name: String,
    /// Empty for a deleted message.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub attachment_id: Option<uuid::Uuid>,
}

/// A file's description; the file itself is downloaded from the chat.
#[derive(Debug, Serialize)]
pub struct AttachmentExport {
    pub id: uuid::Uuid,
    pub room_id: uuid::Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct DocumentExport {
    pub id: uuid::Uuid,
    pub kind: String,
    /// The verification code printed on the document.
    pub code: String,
    pub status: String,
    pub professional_name: String,
    /// What the document says (medicines, days off, exams…), as issued.
    pub content: Value,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Default)]
pub struct ClinicalRecordExport {
    pub encounters: Vec<Value>,
    pub addenda: Vec<Value>,
    pub allergies: Vec<Value>,
    pub problems: Vec<Value>,
    pub vital_signs: Vec<Value>,
    pub medication_stops: Vec<Value>,
    /// Entries not in the export, with why (a psychologist's notes are readable only by
    /// their author: ask them).
    pub withheld: Vec<Value>,
}

#[derive(Debug, Serialize, Default)]
pub struct PaymentsExport {
    pub charges: Vec<ChargeExportRow>,
    /// Pix payments and refunds and the front desk's cash movements.
    pub movements: Vec<Value>,
    pub ledger: Vec<LedgerExportRow>,
}

#[derive(Debug, Serialize)]
pub struct MessageExport {
    pub id: uuid::Uuid,
    pub channel: String,
    pub template: String,
    pub status: String,
    /// The address or phone it went to (empty once erased).
    pub to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct ConsentExport {
    pub channel: String,
    pub opted_in: bool,
    pub source: String,
    pub changed_at: DateTime<Utc>,
}

/// One clinic's record of a patient, for its admin (or an operator): 403 for anyone else,
/// 404 when the clinic holds no such record.
pub async fn export_clinic_record(
    ctx: &Ctx<'_>,
    by: Requester<'_>,
    clinic: ClinicId,
    patient: PatientId,
    legal_basis: &str,
    format: &str,
) -> Result<Export, AppError> {
    if let Requester::ClinicAdmin(auth) = by {
        auth.require_role(clinic, &[Role::ClinicAdmin])?;
    }
    if ctx.store.clinic_patient(clinic, patient).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let record = gather(ctx, patient).await?;
    audit_export(ctx, by, &record, legal_basis, format).await?;
    Ok(Export {
        format: FORMAT,
        generated_at: ctx.now,
        legal_basis: legal_basis.to_string(),
        dpo: dpo(ctx.settings),
        account: None,
        records: vec![record],
    })
}

/// The caller's own data: their account, their profile and every clinic record linked to
/// their account (only those).
pub async fn export_mine(ctx: &Ctx<'_>, auth: &Auth, format: &str) -> Result<Export, AppError> {
    let account =
        ctx.store
            .account_identity(auth.user_id)
            .await?
            .map(|(email, full_name, created_at)| AccountExport {
                email,
                full_name,
                created_at,
            });
    let mut records = Vec::new();
    for patient in auth.patient_ids() {
        let record = gather(ctx, patient).await?;
        audit_export(
            ctx,
            Requester::Subject(auth),
            &record,
            super::SUBJECT_ACCESS_BASIS,
            format,
        )
        .await?;
        records.push(record);
    }
    Ok(Export {
        format: FORMAT,
        generated_at: ctx.now,
        legal_basis: super::SUBJECT_ACCESS_BASIS.to_string(),
        dpo: dpo(ctx.settings),
        account,
        records,
    })
}

async fn audit_export(
    ctx: &Ctx<'_>,
    by: Requester<'_>,
    record: &RecordExport,
    legal_basis: &str,
    format: &str,
) -> Result<(), AppError> {
    let mut ev = by
        .audit("lgpd.exported")
        .entity_id(record.patient.id)
        .details(json!({"legal_basis": legal_basis, "format": format, "via": by.via()}));
    if let Some(c) = &record.clinic {
        ev = ev.clinic(c.id);
    }
    ctx.store.record_audit(&ev).await?;
    Ok(())
}

fn open(ctx: &Ctx<'_>, sealed: &str) -> Result<String, AppError> {
    if sealed.is_empty() {
        return Ok(String::new());
    }
    Ok(ctx.cipher.open_text(sealed.to_string())?)
}

fn open_json(ctx: &Ctx<'_>, sealed: &str) -> Result<Value, AppError> {
    let text = open(ctx, sealed)?;
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Every row of one patient record, opened.
pub async fn gather(ctx: &Ctx<'_>, patient: PatientId) -> Result<RecordExport, AppError> {
    let store = ctx.store;
    let row = store
        .patient_by_id(patient)
        .await?
        .ok_or(AppError::NotFound)?;
    let clinic_id = store.clinics_of_patient(patient).await?.into_iter().next();
    let (clinic, clinic_notes) = match clinic_id {
        Some(c) => {
            let info = store.clinic_by_id(c).await?;
            let cp = store.clinic_patient(c, patient).await?;
            (
                info.map(|i| ClinicRef {
                    id: i.id,
                    name: i.name,
                    cnpj: i.cnpj,
                }),
                ClinicNotes {
                    allergies: ctx
                        .cipher
                        .decrypt_opt(cp.as_ref().and_then(|r| r.allergies_enc.as_deref()))?,
                    notes: ctx
                        .cipher
                        .decrypt_opt(cp.as_ref().and_then(|r| r.notes_enc.as_deref()))?,
                },
            )
        }
        None => (None, ClinicNotes::default()),
    };
    let mut appointments = Vec::new();
    for a in store.export_appointments(patient).await? {
        appointments.push(AppointmentExport {
            id: a.id,
            kind: a.kind,
            status: a.status,
            starts_at: a.starts_at,
            ends_at: a.ends_at,
            professional_name: a.professional_name,
            service_name: a.service_name,
            notes: open(ctx, &a.notes_enc)?,
            cancel_reason: a
                .cancel_reason_enc
                .as_deref()
                .map(|c| open(ctx, c))
                .transpose()?,
            created_at: a.created_at,
        });
    }
    let mut chat_messages = Vec::new();
    for m in store.export_chat_messages(patient).await? {
        chat_messages.push(ChatMessageExport {
            room_id: m.room_id,
            id: m.id,
            sender_name: m.sender_name,
            body: if m.deleted_at.is_some() {
                String::new()
            } else {
                open(ctx, &m.body_enc)?
            },
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted_at: m.deleted_at,
            attachment_id: m.attachment_id,
        });
    }
    let mut chat_attachments = Vec::new();
    for f in store.export_chat_attachments(patient).await? {
        chat_attachments.push(AttachmentExport {
            id: f.id,
            room_id: f.room_id,
            filename: open(ctx, &f.filename_enc)?,
            content_type: f.content_type,
            size_bytes: f.size_bytes,
            created_at: f.created_at,
        });
    }
    let mut documents = Vec::new();
    for d in store.export_documents(patient).await? {
        documents.push(DocumentExport {
            id: d.id,
            kind: d.kind,
            code: d.code,
            status: d.status,
            professional_name: d.professional_name,
            content: open_json(ctx, &d.content_enc)?,
            created_at: d.created_at,
            signed_at: d.signed_at,
            revoked_at: d.revoked_at,
        });
    }
    let clinical_record = match clinic_id {
        Some(c) => clinical_record(ctx, c, patient).await?,
        None => ClinicalRecordExport::default(),
    };
    let mut movements = Vec::new();
    for m in store.export_money(patient).await? {
        movements.push(json!({
            "kind": m.kind, "method": m.method, "amount_cents": m.amount_cents,
            "status": m.status, "reference": m.reference, "movement_id": m.movement_id,
            "appointment_id": m.appointment_id, "at": m.at,
            "description": m.description_enc.as_deref().map(|d| open(ctx, d)).transpose()?,
        }));
    }
    let mut messages = Vec::new();
    for m in store.export_messages(patient).await? {
        messages.push(MessageExport {
            id: m.id,
            channel: m.channel,
            template: m.template,
            status: m.status,
            to: m.to_address.as_deref().map(|t| open(ctx, t)).transpose()?,
            created_at: m.created_at,
            sent_at: m.sent_at,
        });
    }
    Ok(RecordExport {
        clinic,
        anonymised_at: store.patient_anonymised_at(patient).await?,
        patient: row.into(),
        clinic_notes,
        appointments,
        consultations: store.export_consults(patient).await?,
        queue_entries: store.export_queue_entries(patient).await?,
        waitlist: store.export_waitlist(patient).await?,
        chat_messages,
        chat_attachments,
        documents,
        clinical_record,
        payments: PaymentsExport {
            charges: store.export_charges(patient).await?,
            movements,
            ledger: store.export_ledger(patient).await?,
        },
        messages,
        message_consents: store
            .consents(patient)
            .await?
            .into_iter()
            .map(|c| ConsentExport {
                channel: c.channel,
                opted_in: c.opted_in,
                source: c.source,
                changed_at: c.changed_at,
            })
            .collect(),
        account_links: store.export_links(patient).await?,
        access_log: store.export_audit(patient).await?,
    })
}

/// The clinical record: every entry but a psychologist's, whose notes are only theirs.
async fn clinical_record(
    ctx: &Ctx<'_>,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<ClinicalRecordExport, AppError> {
    let store = ctx.store;
    // Nobody authored an entry with the nil id: only non-psychology entries are read.
    let nobody = crate::domain::UserId(uuid::Uuid::nil());
    // The end of year 9999: later than any entry, and comparable as text on SQLite.
    let end = DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or(ctx.now);
    let mut out = ClinicalRecordExport::default();
    let mut encounters = store
        .encounters_of_record(clinic, patient, nobody, end, i64::MAX)
        .await?;
    encounters.reverse();
    for e in encounters {
        out.encounters.push(json!({
            "id": e.id, "professional_name": e.author_name,
            "council": format!("{} {}/{}", e.council, e.council_number, e.council_uf),
            "appointment_id": e.appointment_id, "status": e.status, "locked_at": e.locked_at,
            "content": open_json(ctx, &e.content_enc)?,
            "created_at": e.created_at, "updated_at": e.updated_at,
        }));
    }
    let mut addenda = store
        .addenda_of_record(clinic, patient, nobody, end, i64::MAX)
        .await?;
    addenda.reverse();
    for a in addenda {
        out.addenda.push(json!({
            "id": a.id, "encounter_id": a.encounter_id, "professional_name": a.author_name,
            "text": open(ctx, &a.text_enc)?, "created_at": a.created_at,
        }));
    }
    for a in store.allergies_of_record(clinic, patient).await? {
        out.allergies.push(json!({
            "id": a.id, "substance": open(ctx, &a.substance_enc)?,
            "reaction": open(ctx, &a.reaction_enc)?, "severity": a.severity, "status": a.status,
            "recorded_by": a.recorded_by_name, "created_at": a.created_at, "updated_at": a.updated_at,
        }));
    }
    for p in store.problems_of_record(clinic, patient).await? {
        out.problems.push(json!({
            "id": p.id, "code": open(ctx, &p.code_enc)?, "notes": open(ctx, &p.notes_enc)?,
            "status": p.status, "onset_date": p.onset_date, "resolved_at": p.resolved_at,
            "recorded_by": p.recorded_by_name, "created_at": p.created_at, "updated_at": p.updated_at,
        }));
    }
    let mut vitals = store
        .vitals_of_record(clinic, patient, end, i64::MAX)
        .await?;
    vitals.sort_by_key(|v| v.measured_at);
    for v in vitals {
        out.vital_signs.push(json!({
            "id": v.id, "values": open_json(ctx, &v.values_enc)?, "notes": open(ctx, &v.notes_enc)?,
            "measured_at": v.measured_at, "recorded_by": v.recorded_by_name, "created_at": v.created_at,
        }));
    }
    for m in store.medication_stops_of_record(clinic, patient).await? {
        out.medication_stops.push(json!({
            "id": m.id, "document_id": m.document_id, "item": m.item,
            "reason": open(ctx, &m.reason_enc)?, "stopped_by": m.stopped_by_name,
            "stopped_at": m.stopped_at,
        }));
    }
    for (at, author) in store.psychology_encounters(patient).await? {
        out.withheld.push(json!({
            "kind": "psychology_encounter", "created_at": at, "professional_name": author,
            "why": "anotações de psicologia são legíveis só por quem as escreveu (CFP 001/2009): peça a essa profissional",
        }));
    }
    Ok(out)
}
