//! Consent to messages (LGPD): each patient's current choice per channel, with when and how
//! it was made (the audit log keeps every change); and what inbound webhooks need — the
//! events already handled (providers retry), the patients behind a phone, the appointment a
//! WhatsApp reply is about.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, PatientId};

/// A patient's choice about one channel.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Consent {
    /// `email`, `whatsapp` or `sms`.
    pub channel: String,
    /// False: the patient opted out; reminders no longer go by this channel.
    pub opted_in: bool,
    /// `signup`, `clinic`, `link` or `reply`.
    pub source: String,
    pub changed_at: DateTime<Utc>,
}

/// An upcoming appointment a reminder went out for (by WhatsApp or SMS).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RemindedAppointment {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
}

impl Store {
    /// Record a patient's choice about a channel, inside `tx`.
    pub async fn set_consent(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        channel: &str,
        opted_in: bool,
        source: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO message_consents (patient_id, channel, opted_in, source, changed_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (patient_id, channel) DO UPDATE SET opted_in = excluded.opted_in,
                    source = excluded.source, changed_at = excluded.changed_at",
            )
            .bind(patient)
            .bind(channel)
            .bind(opted_in)
            .bind(source)
            .bind(at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// A patient's recorded choices (channels without one: reminders may go).
    pub async fn consents(&self, patient: PatientId) -> Result<Vec<Consent>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, Consent>(
                "SELECT channel, opted_in, source, changed_at FROM message_consents
                 WHERE patient_id = $1 ORDER BY channel",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    /// Whether the patient opted out of reminders on `channel`.
    pub async fn opted_out(&self, patient: PatientId, channel: &str) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, bool>(
                "SELECT opted_in FROM message_consents WHERE patient_id = $1 AND channel = $2",
            )
            .bind(patient)
            .bind(channel)
            .fetch_optional(p)
            .await?
        }) == Some(false))
    }

    /// Note that a provider's event is being handled; false when it already was (a retry).
    pub async fn first_webhook_event(
        &self,
        provider: &str,
        event: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, t => {
            sqlx::query(
                "INSERT INTO webhook_events (provider, event_id, received_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .bind(provider)
            .bind(event)
            .bind(at)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Forget an event whose handling failed, so the provider's retry is handled.
    pub async fn forget_webhook_event(
        &self,
        provider: &str,
        event: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, t => {
            sqlx::query("DELETE FROM webhook_events WHERE provider = $1 AND event_id = $2")
                .bind(provider)
                .bind(event)
                .execute(&mut **t)
                .await?;
        });
        tx.commit().await?;
        Ok(())
    }

    /// The patient records with one of these phones (`+55…`), found by the phones' blind
    /// index (phones are stored encrypted).
    pub async fn patients_by_phone(&self, phones: &[String]) -> Result<Vec<PatientId>, StoreError> {
        let (a, b) = two(phones);
        let (a, b) = (self.phone_index(Some(&a))?, self.phone_index(Some(&b))?);
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, PatientId>(
                "SELECT id FROM patients WHERE phone_index IN ($1, $2) ORDER BY id",
            )
            .bind(a)
            .bind(b)
            .fetch_all(p)
            .await?
        }))
    }

    /// The nearest open appointment after `now`, of a patient with one of these numbers
    /// (`+55…`, found by the phones' blind index), whose reminder was sent on `channel`.
    pub async fn reminded_appointment(
        &self,
        channel: &str,
        phones: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<RemindedAppointment>, StoreError> {
        let (a, b) = two(phones);
        let (a, b) = (self.phone_index(Some(&a))?, self.phone_index(Some(&b))?);
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, RemindedAppointment>(
                "SELECT a.id, a.clinic_id, a.patient_id FROM appointments a
                 WHERE a.status IN ('scheduled', 'confirmed') AND a.starts_at > $3
                   AND EXISTS (SELECT 1 FROM outbox o WHERE o.appointment_id = a.id
                       AND o.channel = $4 AND o.template = 'appointment_reminder'
                       AND o.status = 'sent')
                   AND a.patient_id IN (SELECT id FROM patients WHERE phone_index IN ($1, $2))
                 ORDER BY a.starts_at LIMIT 1",
            )
            .bind(&a)
            .bind(&b)
            .bind(now)
            .bind(channel)
            .fetch_optional(p)
            .await?
        }))
    }
}

/// The first two of a list of phones (the second repeats the first when there is one).
fn two(phones: &[String]) -> (String, String) {
    let a = phones.first().cloned().unwrap_or_default();
    let b = phones.get(1).cloned().unwrap_or_else(|| a.clone());
    (a, b)
}
