//! Folding a patient's self-service record into the clinic's own record of the same person,
//! once the clinic's staff confirm who is in front of them (`app::patient_merge`).
//!
//! Every table with a `patient_id` is in exactly one of the lists below (a test reads the
//! schema and holds new tables to it): what moves to the clinic's record, what makes the
//! fold impossible (clinical and financial rows are never re-pointed: they were written
//! about the record they name), and what goes with the folded record.

use super::{Store, StoreError, Tx, on_tx};
use crate::domain::{ClinicId, PatientId, UserId};

/// Rows that follow the person to the clinic's record: their bookings, waitlist entries,
/// arrivals, conversations and the messages sent to them.
pub const MOVED: &[&str] = &[
    "appointments",
    "waitlist_entries",
    "queue_entries",
    "chat_rooms",
    "outbox",
];

/// Rows that keep a record from being folded: the clinical record, signed documents,
/// access grants to the record, charges.
pub const BLOCKING: &[&str] = &[
    "encounters",
    "encounter_addenda",
    "allergies",
    "problems",
    "vital_signs",
    "medication_stops",
    "record_access_grants",
    "documents",
    "pix_charges",
];

/// Rows that end with the folded record: its place in the clinic, its links (their history
/// stays in the audit log), its contact consents (those the clinic's record lacks are copied
/// first), its name's blind-index tokens.
pub const ENDED: &[&str] = &[
    "clinic_patients",
    "patient_links",
    "message_consents",
    "patient_name_tokens",
];

impl Store {
    /// The record `user`'s own booking made at `clinic`, if there is one and it is linked.
    pub async fn self_service_record(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<Option<PatientId>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, PatientId>(
                "SELECT patient_id FROM patient_links
                 WHERE clinic_id = $1 AND user_id = $2 AND state = 'linked'
                   AND method = 'self_service'
                 ORDER BY created_at LIMIT 1",
            )
            .bind(clinic)
            .bind(user)
            .fetch_optional(&mut **t)
            .await?
        }))
    }

    /// The accounts linked to a clinic's record.
    pub async fn accounts_linked_to(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<UserId>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, UserId>(
                "SELECT user_id FROM patient_links
                 WHERE clinic_id = $1 AND patient_id = $2 AND state = 'linked'
                   AND user_id IS NOT NULL",
            )
            .bind(clinic)
            .bind(patient)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    /// Why `from` cannot be folded into `into`: the first blocking table that has rows of
    /// it, or `chat_rooms` when both have a conversation with the same professional.
    pub async fn merge_blocker(
        &self,
        tx: &mut Tx,
        from: PatientId,
        into: PatientId,
    ) -> Result<Option<&'static str>, StoreError> {
        for table in BLOCKING {
            let sql = format!("SELECT count(*) FROM {table} WHERE patient_id = $1");
            let n: i64 = on_tx!(tx, t => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(from)
                    .fetch_one(&mut **t)
                    .await?
            });
            if n > 0 {
                return Ok(Some(table));
            }
        }
        let twin_rooms: i64 = on_tx!(tx, t => {
            sqlx::query_scalar(
                "SELECT count(*) FROM chat_rooms s JOIN chat_rooms r
                   ON r.clinic_id = s.clinic_id AND r.professional_user_id = s.professional_user_id
                 WHERE s.patient_id = $1 AND r.patient_id = $2",
            )
            .bind(from)
            .bind(into)
            .fetch_one(&mut **t)
            .await?
        });
        Ok((twin_rooms > 0).then_some("chat_rooms"))
    }

    /// Move `from`'s rows to `into`, copy the contact consents `into` lacks, and delete
    /// `from` (its clinic row, links and consents go with it). The caller checked
    /// [`Store::merge_blocker`] in the same transaction; a row left behind in a table
    /// without a cascade makes the delete, and so the whole fold, fail.
    pub async fn fold_patient(
        &self,
        tx: &mut Tx,
        from: PatientId,
        into: PatientId,
    ) -> Result<u64, StoreError> {
        let mut moved = 0;
        for table in MOVED {
            let sql = format!("UPDATE {table} SET patient_id = $1 WHERE patient_id = $2");
            moved += on_tx!(tx, t => {
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(into)
                    .bind(from)
                    .execute(&mut **t)
                    .await?
                    .rows_affected()
            });
        }
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO message_consents (patient_id, channel, opted_in, source, changed_at)
                 SELECT $1, channel, opted_in, source, changed_at FROM message_consents
                 WHERE patient_id = $2
                 ON CONFLICT (patient_id, channel) DO NOTHING",
            )
            .bind(into)
            .bind(from)
            .execute(&mut **t)
            .await?;
            sqlx::query("DELETE FROM patients WHERE id = $1")
                .bind(from)
                .execute(&mut **t)
                .await?;
        });
        Ok(moved)
    }
}
