//! The writes that anonymise a patient record, each inside the use case's one transaction.
//! Rows the law keeps (the clinical record, money, the audit log) are not touched here;
//! what identifies the person and is not needed for them goes.

use chrono::{DateTime, Utc};

use crate::domain::{ClinicId, PatientId, UserId};
use crate::store::{Pool, Store, StoreError, Tx, on_tx};

/// The record's new identity: a display name and what is left of the birth date.
#[derive(Debug, Clone)]
pub struct AnonymousIdentity<'a> {
    pub full_name: &'a str,
    /// The birth date reduced to its year, sealed.
    pub birth_date_enc: &'a str,
    pub at: DateTime<Utc>,
}

/// A stored live event (payload sealed) that may name the person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredEvent {
    pub topic: String,
    pub seq: i64,
    pub payload_enc: String,
}

const PATIENT_ROOMS: &str = "SELECT id FROM chat_rooms WHERE patient_id = $1";

impl Store {
    /// On SQLite, make this transaction's connection overwrite what it deletes or rewrites
    /// (`secure_delete`): an old value must not stay behind in the file's free space.
    pub async fn overwrite_erased(&self, tx: &mut Tx) -> Result<(), StoreError> {
        if let Tx::Sqlite(t) = tx {
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(&mut *t.tx)
                .await?;
        }
        Ok(())
    }

    /// After an erasure on SQLite, copy the write-ahead log into the database and empty it,
    /// so the log no longer holds page images from before (best effort: a reader still on
    /// an old snapshot keeps them until the next checkpoint). PostgreSQL keeps dead row
    /// versions until VACUUM (docs/lgpd.md).
    pub async fn checkpoint_after_erasure(&self) -> Result<(), StoreError> {
        if let Pool::Sqlite(p) = self.pool() {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(p)
                .await?;
        }
        Ok(())
    }

    /// When the record was anonymised, read under the transaction's lock on the row (two
    /// requests at once: the second waits and then sees the first).
    pub async fn anonymised_at_tx(
        &self,
        tx: &mut Tx,
        patient: PatientId,
    ) -> Result<Option<Option<DateTime<Utc>>>, StoreError> {
        Ok(on_tx!(tx, t => {
            // A no-op write takes the row lock on PostgreSQL; SQLite has one writer anyway.
            sqlx::query("UPDATE patients SET updated_at = updated_at WHERE id = $1")
                .bind(patient)
                .execute(&mut **t)
                .await?;
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
                "SELECT anonymised_at FROM patients WHERE id = $1",
            )
            .bind(patient)
            .fetch_optional(&mut **t)
            .await?
        }))
    }

    /// Replace the identity: the display name (sealed), no social name, CPF, phone,
    /// e-mail or address, no blind index and no name tokens (the CPF, phone and name searches no
    /// longer find it), no account.
    pub async fn anonymise_patient_identity(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        who: &AnonymousIdentity<'_>,
    ) -> Result<(), StoreError> {
        let full_name = self.seal(who.full_name)?;
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE patients SET full_name_enc = $2, social_name_enc = NULL, cpf_enc = '', birth_date_enc = $3,
                    phone_enc = NULL, email_enc = NULL, cpf_index = NULL, phone_index = NULL,
                    address_enc = NULL, user_id = NULL, anonymised_at = $4, updated_at = $4
                 WHERE id = $1",
            )
            .bind(patient)
            .bind(&full_name)
            .bind(who.birth_date_enc)
            .bind(who.at)
            .execute(&mut **t)
            .await?;
        });
        self.write_name_tokens(tx, patient, None).await?;
        Ok(())
    }

    /// Remove every link between the record and an account; returns the accounts whose
    /// link was proven (`linked`: their sessions are ended by the caller).
    pub async fn delete_patient_links(
        &self,
        tx: &mut Tx,
        patient: PatientId,
    ) -> Result<Vec<UserId>, StoreError> {
        Ok(on_tx!(tx, t => {
            let users = sqlx::query_scalar::<_, UserId>(
                "SELECT DISTINCT user_id FROM patient_links
                 WHERE patient_id = $1 AND user_id IS NOT NULL AND state = 'linked'",
            )
            .bind(patient)
            .fetch_all(&mut **t)
            .await?;
            sqlx::query("DELETE FROM patient_links WHERE patient_id = $1")
                .bind(patient)
                .execute(&mut **t)
                .await?;
            users
        }))
    }

    /// Delete the files sent in the record's chat rooms (the messages stay, without them).
    pub async fn erase_chat_attachments(
        &self,
        tx: &mut Tx,
        patient: PatientId,
    ) -> Result<u64, StoreError> {
        let detach = format!(
            "UPDATE chat_messages SET attachment_id = NULL
             WHERE attachment_id IS NOT NULL AND room_id IN ({PATIENT_ROOMS})"
        );
        let delete = format!("DELETE FROM chat_attachments WHERE room_id IN ({PATIENT_ROOMS})");
        Ok(on_tx!(tx, t => {
            sqlx::query(sqlx::AssertSqlSafe(detach))
                .bind(patient)
                .execute(&mut **t)
                .await?;
            sqlx::query(sqlx::AssertSqlSafe(delete))
                .bind(patient)
                .execute(&mut **t)
                .await?
                .rows_affected()
        }))
    }

    /// Forget the recipient and the content of every message to the record (`empty_enc`: an
    /// empty JSON object, sealed); those not sent yet are cancelled.
    pub async fn erase_outbox_recipients(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        empty_enc: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "UPDATE outbox SET to_address = NULL, payload = $2, updated_at = $3,
                    status = CASE WHEN status IN ('queued', 'sending', 'failed') THEN 'cancelled' ELSE status END
                 WHERE patient_id = $1",
            )
            .bind(patient)
            .bind(empty_enc)
            .bind(at)
            .execute(&mut **t)
            .await?
            .rows_affected()
        }))
    }

    /// Opt the record out of every messaging channel.
    pub async fn withdraw_message_consents(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for channel in ["email", "whatsapp", "sms"] {
            on_tx!(tx, t => {
                sqlx::query(
                    "INSERT INTO message_consents (patient_id, channel, opted_in, source, changed_at)
                     VALUES ($1, $2, $3, 'clinic', $4)
                     ON CONFLICT (patient_id, channel)
                     DO UPDATE SET opted_in = $3, source = 'clinic', changed_at = $4",
                )
                .bind(patient)
                .bind(channel)
                .bind(false)
                .bind(at)
                .execute(&mut **t)
                .await?;
            });
        }
        Ok(())
    }

    /// Cancel the record's open waitlist wishes.
    pub async fn cancel_waitlist_of(
        &self,
        tx: &mut Tx,
        patient: PatientId,
    ) -> Result<u64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "UPDATE waitlist_entries SET status = 'cancelled'
                 WHERE patient_id = $1 AND status IN ('waiting', 'offered')",
            )
            .bind(patient)
            .execute(&mut **t)
            .await?
            .rows_affected()
        }))
    }

    /// Cancel the record's appointments still to come (held, scheduled or confirmed and
    /// starting after `now`), with a sealed reason; clear the front desk's notes on every
    /// appointment of the record. Returns the cancelled ones' ids and kinds.
    pub async fn cancel_future_appointments_of(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        patient: PatientId,
        now: DateTime<Utc>,
        reason_enc: &str,
    ) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
        Ok(on_tx!(tx, t => {
            let ids = sqlx::query_as::<_, (uuid::Uuid, String)>(
                "SELECT id, kind FROM appointments
                 WHERE clinic_id = $1 AND patient_id = $2 AND starts_at > $3
                   AND status IN ('held', 'scheduled', 'confirmed')
                 ORDER BY starts_at",
            )
            .bind(clinic)
            .bind(patient)
            .bind(now)
            .fetch_all(&mut **t)
            .await?;
            for (id, _) in &ids {
                sqlx::query(
                    "UPDATE appointments SET status = 'cancelled', cancel_reason_enc = $2,
                        hold_expires_at = NULL, updated_at = $3
                     WHERE id = $1",
                )
                .bind(id)
                .bind(reason_enc)
                .bind(now)
                .execute(&mut **t)
                .await?;
            }
            sqlx::query("UPDATE appointments SET notes_enc = '' WHERE patient_id = $1")
                .bind(patient)
                .execute(&mut **t)
                .await?;
            ids
        }))
    }

    /// Put the display name (sealed) on the record's waiting-room entries.
    pub async fn rename_queue_entries_of(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        name_enc: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE queue_entries SET full_name_enc = $2 WHERE patient_id = $1")
                .bind(patient)
                .bind(name_enc)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// The participant lists (names in the clear) of the record's teleconsultations.
    pub async fn consult_participants_of(
        &self,
        tx: &mut Tx,
        patient: PatientId,
    ) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, (uuid::Uuid, String)>(
                "SELECT c.appointment_id, c.participants FROM consult_sessions c
                 JOIN appointments a ON a.id = c.appointment_id WHERE a.patient_id = $1",
            )
            .bind(patient)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    pub async fn set_consult_participants_tx(
        &self,
        tx: &mut Tx,
        appointment: uuid::Uuid,
        participants: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE consult_sessions SET participants = $2 WHERE appointment_id = $1")
                .bind(appointment)
                .bind(participants)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// The stored live events that may name the person: every topic of the clinic
    /// (`clinic:<id>:…`) and the record's own topics (its chat rooms, teleconsultations
    /// and accounts), named in `topics`.
    pub async fn events_about(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        topics: &[String],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let prefix = format!("clinic:{clinic}:%");
        let mut all = on_tx!(tx, t => {
            sqlx::query_as::<_, StoredEvent>(
                "SELECT topic, seq, payload_enc FROM topic_events WHERE topic LIKE $1 ORDER BY topic, seq",
            )
            .bind(&prefix)
            .fetch_all(&mut **t)
            .await?
        });
        for topic in topics {
            let rows = on_tx!(tx, t => {
                sqlx::query_as::<_, StoredEvent>(
                    "SELECT topic, seq, payload_enc FROM topic_events WHERE topic = $1 ORDER BY seq",
                )
                .bind(topic)
                .fetch_all(&mut **t)
                .await?
            });
            all.extend(rows);
        }
        Ok(all)
    }

    /// The record's chat rooms.
    pub async fn chat_rooms_of_patient(
        &self,
        tx: &mut Tx,
        patient: PatientId,
    ) -> Result<Vec<uuid::Uuid>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, uuid::Uuid>(sqlx::AssertSqlSafe(PATIENT_ROOMS))
                .bind(patient)
                .fetch_all(&mut **t)
                .await?
        }))
    }
}
