//! LGPD data-subject requests: every row about one patient record, read whole for an export
//! (right of access, art. 18 II), and the writes that anonymise it ([`erase`]). A record
//! belongs to one clinic (or is an account's own profile), so everything is found by the
//! record's id. Encrypted columns come back sealed; the use case opens them.

pub mod erase;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Store, StoreError, on_pool};
use crate::domain::{PatientId, UserId};

/// An appointment of the record (notes and cancel reason still sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppointmentExportRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub notes_enc: String,
    pub cancel_reason_enc: Option<String>,
    pub professional_name: String,
    pub service_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A visit to the waiting room.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct QueueExportRow {
    pub id: uuid::Uuid,
    pub service_date: NaiveDate,
    pub ticket: String,
    pub priority: String,
    pub status: String,
    pub room: Option<String>,
    pub checked_in_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A wish to be offered an earlier time.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct WaitlistExportRow {
    pub id: uuid::Uuid,
    pub date_from: NaiveDate,
    pub date_to: NaiveDate,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// A chat message in one of the record's rooms (body sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatExportRow {
    pub room_id: uuid::Uuid,
    pub id: uuid::Uuid,
    pub sender_name: String,
    pub body_enc: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub attachment_id: Option<uuid::Uuid>,
}

/// A file sent in one of the record's rooms (its name sealed; the bytes are not exported).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentExportRow {
    pub id: uuid::Uuid,
    pub room_id: uuid::Uuid,
    pub filename_enc: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
}

/// A document issued for the record (content sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentExportRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub code: String,
    pub status: String,
    pub content_enc: String,
    pub professional_name: String,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A Pix charge for one of the record's appointments.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ChargeExportRow {
    pub txid: String,
    pub appointment_id: uuid::Uuid,
    pub amount_cents: i64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// Money received or returned for one of the record's appointments: a Pix payment, a Pix
/// refund, or a movement of the front desk's cash register (description sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MoneyExportRow {
    /// The Pix endToEndId of a payment, or the id of a refund.
    pub reference: Option<String>,
    /// The cash-register movement's id.
    pub movement_id: Option<uuid::Uuid>,
    pub appointment_id: Option<uuid::Uuid>,
    pub kind: String,
    pub method: String,
    pub amount_cents: i64,
    pub status: Option<String>,
    pub description_enc: Option<String>,
    pub at: DateTime<Utc>,
}

/// A ledger line posted for one of the record's appointments.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LedgerExportRow {
    pub txn_id: uuid::Uuid,
    pub account: String,
    pub amount_cents: i64,
    pub kind: String,
    pub appointment_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A message queued to the patient (recipient sealed; the body is not exported: it holds
/// single-use links).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageExportRow {
    pub id: uuid::Uuid,
    pub channel: String,
    pub template: String,
    pub status: String,
    pub to_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A link between the record and a patient account.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkExportRow {
    pub id: uuid::Uuid,
    pub state: String,
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub linked_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A teleconsultation of one of the record's appointments.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConsultExportRow {
    pub appointment_id: uuid::Uuid,
    pub status: String,
    pub media: String,
    pub waiting_at: Option<DateTime<Utc>>,
    pub admitted_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Who did what to the record, from the audit log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditExportRow {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub action: String,
    /// The person who acted (empty for the system or a command).
    pub actor_name: Option<String>,
}

const PATIENT_APPOINTMENTS: &str = "SELECT id FROM appointments WHERE patient_id = $1";

impl Store {
    pub async fn export_appointments(
        &self,
        patient: PatientId,
    ) -> Result<Vec<AppointmentExportRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AppointmentExportRow>(
                "SELECT a.id, a.kind, a.status, a.starts_at, a.ends_at, a.notes_enc, a.cancel_reason_enc,
                        u.full_name_enc AS professional_name, s.name AS service_name, a.created_at
                 FROM appointments a JOIN users u ON u.id = a.professional_user_id
                 LEFT JOIN services s ON s.id = a.service_id
                 WHERE a.patient_id = $1 ORDER BY a.starts_at, a.id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.professional_name)
    }

    pub async fn export_queue_entries(
        &self,
        patient: PatientId,
    ) -> Result<Vec<QueueExportRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, QueueExportRow>(
                "SELECT id, service_date, ticket, priority, status, room, checked_in_at, called_at, finished_at
                 FROM queue_entries WHERE patient_id = $1 ORDER BY checked_in_at, id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn export_waitlist(
        &self,
        patient: PatientId,
    ) -> Result<Vec<WaitlistExportRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, WaitlistExportRow>(
                "SELECT id, date_from, date_to, status, created_at
                 FROM waitlist_entries WHERE patient_id = $1 ORDER BY created_at, id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn export_chat_messages(
        &self,
        patient: PatientId,
    ) -> Result<Vec<ChatExportRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ChatExportRow>(
                "SELECT m.room_id, m.id, u.full_name_enc AS sender_name, m.body_enc, m.created_at,
                        m.edited_at, m.deleted_at, m.attachment_id
                 FROM chat_messages m JOIN chat_rooms r ON r.id = m.room_id
                 JOIN users u ON u.id = m.sender_user_id
                 WHERE r.patient_id = $1 ORDER BY m.created_at, m.seq",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.sender_name)
    }

    pub async fn export_chat_attachments(
        &self,
        patient: PatientId,
    ) -> Result<Vec<AttachmentExportRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, AttachmentExportRow>(
                "SELECT a.id, a.room_id, a.filename_enc, a.content_type, a.size_bytes, a.created_at
                 FROM chat_attachments a JOIN chat_rooms r ON r.id = a.room_id
                 WHERE r.patient_id = $1 ORDER BY a.created_at, a.id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn export_documents(
        &self,
        patient: PatientId,
    ) -> Result<Vec<DocumentExportRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, DocumentExportRow>(
                "SELECT d.id, d.kind, d.code, d.status, d.content_enc, u.full_name_enc AS professional_name,
                        d.created_at, d.signed_at, d.revoked_at
                 FROM documents d JOIN professionals pr ON pr.id = d.professional_id
                 JOIN users u ON u.id = pr.user_id
                 WHERE d.patient_id = $1 ORDER BY d.created_at, d.id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.professional_name)
    }

    /// Psychology encounters of the record: readable by their author only, so an export
    /// names how many were withheld and by whom.
    pub async fn psychology_encounters(
        &self,
        patient: PatientId,
    ) -> Result<Vec<(DateTime<Utc>, String)>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, (DateTime<Utc>, String)>(
                "SELECT e.created_at, u.full_name_enc FROM encounters e JOIN users u ON u.id = e.author_user_id
                 WHERE e.patient_id = $1 AND e.psychology = $2 ORDER BY e.created_at",
            )
            .bind(patient)
            .bind(true)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.1)
    }

    pub async fn export_charges(
        &self,
        patient: PatientId,
    ) -> Result<Vec<ChargeExportRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ChargeExportRow>(
                "SELECT txid, appointment_id, amount_cents, status, created_at, expires_at, paid_at
                 FROM pix_charges WHERE patient_id = $1 ORDER BY created_at, txid",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    /// Pix payments and refunds and cash-register movements of the record's appointments,
    /// in time order.
    pub async fn export_money(
        &self,
        patient: PatientId,
    ) -> Result<Vec<MoneyExportRow>, StoreError> {
        let sql = format!(
            "SELECT end_to_end_id AS reference, CAST(NULL AS uuid) AS movement_id, appointment_id, 'payment' AS kind, 'pix' AS method, amount_cents,
                    NULL AS status, NULL AS description_enc, paid_at AS at
             FROM pix_payments WHERE appointment_id IN ({PATIENT_APPOINTMENTS})
             UNION ALL
             SELECT id AS reference, CAST(NULL AS uuid) AS movement_id, appointment_id, 'refund' AS kind, 'pix' AS method, amount_cents, status,
                    NULL AS description_enc, requested_at AS at
             FROM pix_refunds WHERE appointment_id IN ({PATIENT_APPOINTMENTS})
             UNION ALL
             SELECT NULL AS reference, id AS movement_id, appointment_id, kind, method, amount_cents, NULL AS status,
                    description_enc, created_at AS at
             FROM cash_movements WHERE appointment_id IN ({PATIENT_APPOINTMENTS})
             ORDER BY at"
        );
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, MoneyExportRow>(sqlx::AssertSqlSafe(sql))
                .bind(patient)
                .fetch_all(p)
                .await?
        }))
    }

    pub async fn export_ledger(
        &self,
        patient: PatientId,
    ) -> Result<Vec<LedgerExportRow>, StoreError> {
        let sql = format!(
            "SELECT txn_id, account, amount_cents, kind, appointment_id, created_at FROM ledger_entries
             WHERE appointment_id IN ({PATIENT_APPOINTMENTS}) ORDER BY created_at, id"
        );
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, LedgerExportRow>(sqlx::AssertSqlSafe(sql))
                .bind(patient)
                .fetch_all(p)
                .await?
        }))
    }

    pub async fn export_messages(
        &self,
        patient: PatientId,
    ) -> Result<Vec<MessageExportRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, MessageExportRow>(
                "SELECT id, channel, template, status, to_address, created_at, sent_at
                 FROM outbox WHERE patient_id = $1 ORDER BY created_at, id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn export_links(&self, patient: PatientId) -> Result<Vec<LinkExportRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, LinkExportRow>(
                "SELECT id, state, method, created_at, linked_at, revoked_at
                 FROM patient_links WHERE patient_id = $1 ORDER BY created_at, id",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn export_consults(
        &self,
        patient: PatientId,
    ) -> Result<Vec<ConsultExportRow>, StoreError> {
        let sql = format!(
            "SELECT appointment_id, status, media, waiting_at, admitted_at, ended_at FROM consult_sessions
             WHERE appointment_id IN ({PATIENT_APPOINTMENTS}) ORDER BY created_at"
        );
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ConsultExportRow>(sqlx::AssertSqlSafe(sql))
                .bind(patient)
                .fetch_all(p)
                .await?
        }))
    }

    /// The audit rows about the record (reads, changes, exports), oldest first.
    pub async fn export_audit(
        &self,
        patient: PatientId,
    ) -> Result<Vec<AuditExportRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AuditExportRow>(
                "SELECT l.seq, l.at, l.action, u.full_name_enc AS actor_name
                 FROM audit_log l LEFT JOIN users u ON u.id = l.actor_user_id
                 WHERE l.entity_id = $1 ORDER BY l.seq",
            )
            .bind(patient.to_string())
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.actor_name)
    }

    /// When the record was anonymised, if it was.
    pub async fn patient_anonymised_at(
        &self,
        patient: PatientId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
                "SELECT anonymised_at FROM patients WHERE id = $1",
            )
            .bind(patient)
            .fetch_optional(p)
            .await?
            .flatten()
        }))
    }

    /// An account's login and name, for the account section of a patient's own export.
    pub async fn account_identity(
        &self,
        user: UserId,
    ) -> Result<Option<(String, String, DateTime<Utc>)>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, (String, String, DateTime<Utc>)>(
                "SELECT email, full_name_enc, created_at FROM users WHERE id = $1",
            )
            .bind(user)
            .fetch_optional(p)
            .await?
        });
        self.open_name_opt(rows, |r| &mut r.1)
    }
}
