//! The outbox as the delivery workers see it: messages claimed under a lease (one sender
//! per message across every node), their state after each attempt, what the clinic's staff
//! read about them, each clinic's sender and reminder settings, the reminders already queued.
//!
//! Claiming is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING`: on PostgreSQL the
//! inner select takes `FOR UPDATE SKIP LOCKED`, so two nodes claiming at once take disjoint
//! messages; on SQLite the write transaction is the only writer, which is as good.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Pool, Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, PatientId, UserId};

/// What a new message carries besides its encrypted payload.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub clinic: Option<ClinicId>,
    pub patient: Option<PatientId>,
    pub user: Option<UserId>,
    pub appointment: Option<uuid::Uuid>,
    pub channel: &'static str,
    pub template: String,
    /// Known at queueing time (a password reset); otherwise looked up when sending.
    pub to_address: Option<String>,
}

/// A message this node holds the lease on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedMessage {
    pub id: uuid::Uuid,
    pub clinic_id: Option<ClinicId>,
    pub patient_id: Option<PatientId>,
    pub user_id: Option<UserId>,
    pub appointment_id: Option<uuid::Uuid>,
    pub channel: String,
    pub template: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub to_address: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set before the attempt when the provider already took the message (its status
    /// callback named it while the message was still being sent): no second send.
    pub provider_message_id: Option<String>,
}

/// A message as the clinic's staff see it (no payload: it holds the patient's links).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct MessageStatus {
    pub id: uuid::Uuid,
    pub patient_id: Option<PatientId>,
    pub appointment_id: Option<uuid::Uuid>,
    /// `email`, `whatsapp` or `sms`.
    pub channel: String,
    /// What the message says: `appointment_booked`, `appointment_reminder`, …
    pub template: String,
    /// `queued`, `sending`, `sent`, `delivered` and `read` (as the provider reports them,
    /// never backwards), `failed` (will be retried), `dead` (given up, or the provider
    /// reported it undeliverable) or `cancelled` (no longer true: the appointment was
    /// cancelled or moved, or the patient opted out of the channel).
    pub status: String,
    pub attempts: i32,
    /// The provider's (or atende's) reason for the last failure.
    pub last_error: Option<String>,
    /// Where it went, once sent (staff see it masked: `jo•••@paciente.demo`, `+55 11 •••••-4321`).
    pub to_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    /// The patient's (social) name, for the clinic's outbox view.
    pub patient_name: Option<String>,
    /// When the appointment the message is about starts (now, not when it was queued).
    pub appointment_starts_at: Option<DateTime<Utc>>,
}

/// Which of a clinic's messages to read.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub patient: Option<PatientId>,
    pub appointment: Option<uuid::Uuid>,
    /// As shown (`delivered` and `read` are receipts of sent messages).
    pub status: Option<String>,
    pub channel: Option<String>,
    /// Only those listed after this message of the clinic (older; same time: smaller id).
    pub before: Option<uuid::Uuid>,
}

/// Messages of one channel in one state, and the oldest one's creation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueCount {
    pub channel: String,
    pub status: String,
    pub count: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// How a clinic's messages go out (defaults when the clinic set nothing).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClinicMessagingRow {
    pub clinic_name: String,
    pub time_zone: String,
    pub sender_name: Option<String>,
    pub reply_to: Option<String>,
    pub reminders_enabled: Option<bool>,
    pub reminder_offsets: Option<String>,
    pub quiet_start: Option<String>,
    pub quiet_end: Option<String>,
    pub whatsapp_enabled: Option<bool>,
    pub sms_enabled: Option<bool>,
}

const CLAIMED_COLUMNS: &str = "id, clinic_id, patient_id, user_id, appointment_id, channel, \
    template, payload, attempts, to_address, created_at, provider_message_id";

impl Store {
    /// Queue a message for delivery inside `tx`; its payload and address are sealed here.
    pub async fn insert_message(
        &self,
        tx: &mut Tx,
        m: &NewMessage,
        payload: &serde_json::Value,
    ) -> Result<uuid::Uuid, StoreError> {
        let id = uuid::Uuid::now_v7();
        let now = super::now();
        let payload_enc = self.seal(&payload.to_string())?;
        let to = self.seal_opt(m.to_address.as_deref())?;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO outbox (id, clinic_id, patient_id, user_id, appointment_id, channel,
                    template, payload, to_address, created_at, next_attempt_at, updated_at, status, attempts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10, 'queued', 0)",
            )
            .bind(id)
            .bind(m.clinic)
            .bind(m.patient)
            .bind(m.user)
            .bind(m.appointment)
            .bind(m.channel)
            .bind(&m.template)
            .bind(&payload_enc)
            .bind(&to)
            .bind(now)
            .execute(&mut **t)
            .await?;
        });
        Ok(id)
    }

    /// Take up to `limit` messages of `channel` that are due at `now` — queued, failed and
    /// due for a retry, or `sending` under a lease that ran out (its node died mid-send) —
    /// and lease them to `owner` until `lease_until`. Each claim counts as an attempt.
    pub async fn claim_messages(
        &self,
        channel: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>, StoreError> {
        let lock = match self.pool() {
            Pool::Postgres(_) => "FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', lease_owner = $1, next_attempt_at = $2,
                attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM outbox
                          WHERE status IN ('queued', 'sending', 'failed') AND channel = $4
                            AND next_attempt_at <= $3
                          ORDER BY next_attempt_at LIMIT $5 {lock})
             RETURNING {CLAIMED_COLUMNS}"
        );
        let mut tx = self.begin().await?;
        let rows = on_tx!(&mut tx, t => {
            sqlx::query_as::<_, ClaimedMessage>(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(lease_until)
                .bind(now)
                .bind(channel)
                .bind(limit)
                .fetch_all(&mut **t)
                .await?
        });
        tx.commit().await?;
        rows.into_iter()
            .map(|mut m| {
                m.to_address = self.unseal_opt(m.to_address.take())?;
                Ok(m)
            })
            .collect()
    }

    /// Record the end of an attempt by the lease's `owner`: `sent` (with the address it
    /// went to), `failed` (to be retried at `retry_at`), `dead` or `cancelled`. False when
    /// the lease was lost meanwhile (another node took the message over).
    pub async fn finish_attempt(
        &self,
        id: uuid::Uuid,
        owner: &str,
        outcome: Attempt<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut provider = None;
        let (status, error, retry_at, to, sent_at) = match outcome {
            Attempt::Sent { to, provider_id } => {
                provider = provider_id;
                ("sent", None, None, Some(to), Some(now))
            }
            Attempt::Failed { error, retry_at } => {
                ("failed", Some(error), Some(retry_at), None, None)
            }
            Attempt::Dead { error } => ("dead", Some(error), None, None, None),
            Attempt::Cancelled { reason } => ("cancelled", Some(reason), None, None, None),
        };
        let to = self.seal_opt(to)?;
        macro_rules! finish {
            ($executor:expr) => {
                sqlx::query(
                    "UPDATE outbox SET status = $1, last_error = COALESCE($2, last_error),
                        next_attempt_at = $3, to_address = COALESCE($4, to_address), sent_at = $5,
                        lease_owner = NULL, updated_at = $6,
                        provider_message_id = COALESCE($9, provider_message_id)
                     WHERE id = $7 AND lease_owner = $8 AND status = 'sending'",
                )
                .bind(status)
                .bind(error)
                .bind(retry_at)
                .bind(&to)
                .bind(sent_at)
                .bind(now)
                .bind(id)
                .bind(owner)
                .bind(provider)
                .execute($executor)
                .await?
                .rows_affected()
            };
        }
        // One statement: PostgreSQL runs it as its own transaction (a BEGIN and a COMMIT
        // around it were two more round trips per message); SQLite takes this process's
        // writer slot first, as every write does.
        let n = match self.pool() {
            Pool::Postgres(p) => finish!(p),
            Pool::Sqlite(_) => {
                let mut tx = self.begin().await?;
                let n = on_tx!(&mut tx, t => finish!(&mut **t));
                tx.commit().await?;
                n
            }
        };
        Ok(n == 1)
    }

    /// What the delivery worker checks before a reminder goes, in one read: the
    /// appointment's status and start, and whether the patient opted out of `channel`
    /// (None: no such appointment).
    pub async fn reminder_check(
        &self,
        appointment: uuid::Uuid,
        patient: Option<PatientId>,
        channel: &str,
    ) -> Result<Option<ReminderCheck>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ReminderCheck>(
                "SELECT a.status, a.starts_at,
                        EXISTS (SELECT 1 FROM message_consents c
                                WHERE c.patient_id = $2 AND c.channel = $3 AND NOT c.opted_in)
                            AS opted_out
                 FROM appointments a WHERE a.id = $1",
            )
            .bind(appointment)
            .bind(patient)
            .bind(channel)
            .fetch_optional(p)
            .await?
        }))
    }

    /// A status callback named this outbox message and the provider's id of it: note the
    /// id on a message not yet recorded as sent (a node may have died between the
    /// provider's answer and its record), so that whoever takes it over records it as sent
    /// instead of sending it again; whether it was noted.
    pub async fn note_provider_id(
        &self,
        channel: &str,
        id: uuid::Uuid,
        provider_id: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, t => {
            sqlx::query(
                "UPDATE outbox SET provider_message_id = $1
                 WHERE id = $2 AND channel = $3 AND provider_message_id IS NULL
                   AND status IN ('queued', 'sending', 'failed')",
            )
            .bind(provider_id)
            .bind(id)
            .bind(channel)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Messages by channel and state, with the oldest one's creation (for `/metrics`).
    pub async fn outbox_counts(&self) -> Result<Vec<QueueCount>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, QueueCount>(
                "SELECT channel, status, COUNT(*) AS count, MIN(created_at) AS oldest
                 FROM outbox GROUP BY channel, status",
            )
            .fetch_all(p)
            .await?
        }))
    }

    /// A clinic's messages, newest first, filtered by patient, appointment, state, channel.
    pub async fn clinic_messages(
        &self,
        clinic: ClinicId,
        f: &MessageFilter,
        limit: i64,
    ) -> Result<Vec<MessageStatus>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, MessageStatus>(
                "SELECT o.id, o.patient_id, o.appointment_id, o.channel, o.template,
                        CASE WHEN o.status = 'sent' AND o.receipt IS NOT NULL THEN o.receipt ELSE o.status END AS status,
                        o.attempts, o.last_error, o.to_address, o.created_at,
                        CASE WHEN o.status IN ('queued', 'failed') THEN o.next_attempt_at END AS next_attempt_at,
                        o.sent_at, o.delivered_at, o.read_at,
                        COALESCE(pt.social_name_enc, pt.full_name_enc) AS patient_name,
                        a.starts_at AS appointment_starts_at
                 FROM outbox o
                 LEFT JOIN patients pt ON pt.id = o.patient_id
                 LEFT JOIN appointments a ON a.id = o.appointment_id
                 WHERE o.clinic_id = $1 AND ($2 IS NULL OR o.patient_id = $2)
                   AND ($3 IS NULL OR o.appointment_id = $3)
                   AND ($5 IS NULL OR o.channel = $5)
                   AND ($6 IS NULL OR (CASE WHEN o.status = 'sent' AND o.receipt IS NOT NULL
                                            THEN o.receipt ELSE o.status END) = $6)
                   AND ($7 IS NULL OR EXISTS (
                        SELECT 1 FROM outbox b WHERE b.id = $7 AND b.clinic_id = $1
                          AND (o.created_at < b.created_at
                               OR (o.created_at = b.created_at AND o.id < b.id))))
                 ORDER BY o.created_at DESC, o.id DESC LIMIT $4",
            )
            .bind(clinic)
            .bind(f.patient)
            .bind(f.appointment)
            .bind(limit)
            .bind(&f.channel)
            .bind(&f.status)
            .bind(f.before)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|mut m| {
                m.to_address = self.unseal_opt(m.to_address.take())?;
                m.patient_name = self.unseal_opt(m.patient_name.take())?;
                Ok(m)
            })
            .collect()
    }

    /// The e-mail address a message goes to: the patient record's, else its own account's,
    /// else that of an account linked to the record; for a message to a user, theirs.
    pub async fn message_email(
        &self,
        patient: Option<PatientId>,
        user: Option<UserId>,
    ) -> Result<Option<String>, StoreError> {
        if let Some(p) = patient {
            let found: Option<(Option<String>, Option<String>)> = on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT p.email_enc, COALESCE(u.email,
                        (SELECT lu.email FROM patient_links l JOIN users lu ON lu.id = l.user_id
                          WHERE l.patient_id = p.id AND l.state = 'linked'
                          ORDER BY l.id LIMIT 1))
                     FROM patients p LEFT JOIN users u ON u.id = p.user_id WHERE p.id = $1",
                )
                .bind(p)
                .fetch_optional(pool)
                .await?
            });
            let Some((own, account)) = found else {
                return Ok(None);
            };
            let own = self.unseal_opt(own)?.filter(|e| !e.is_empty());
            return Ok(own.or(account));
        }
        let Some(u) = user else { return Ok(None) };
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>("SELECT email FROM users WHERE id = $1")
                .bind(u)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// The phone a message to a patient goes to (`+55…`), if the record has one.
    pub async fn message_phone(
        &self,
        patient: Option<PatientId>,
    ) -> Result<Option<String>, StoreError> {
        let Some(p) = patient else { return Ok(None) };
        let found = on_pool!(self, pool => {
            sqlx::query_scalar::<_, Option<String>>("SELECT phone_enc FROM patients WHERE id = $1")
                .bind(p)
                .fetch_optional(pool)
                .await?
        });
        Ok(self
            .unseal_opt(found.flatten())?
            .filter(|p| !p.trim().is_empty()))
    }

    /// A provider's receipt (`delivered`, then `read`) for the message it names, never
    /// moving it backwards and only once it was sent; whether it moved.
    pub async fn record_receipt(
        &self,
        channel: &str,
        provider_id: &str,
        receipt: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let rank = |col: &str| {
            format!("(CASE {col} WHEN 'delivered' THEN 1 WHEN 'read' THEN 2 ELSE 0 END)")
        };
        let sql = format!(
            "UPDATE outbox SET receipt = $1,
                delivered_at = COALESCE(delivered_at, $2),
                read_at = CASE WHEN $1 = 'read' THEN COALESCE(read_at, $2) ELSE read_at END,
                updated_at = $2
             WHERE channel = $3 AND provider_message_id = $4 AND status = 'sent'
               AND {} < {}",
            rank("receipt"),
            rank("$1")
        );
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, t => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(receipt)
                .bind(at)
                .bind(channel)
                .bind(provider_id)
                .execute(&mut **t)
                .await?
                .rows_affected()
        });
        tx.commit().await?;
        Ok(n > 0)
    }

    /// The provider could not deliver a message it had taken: `dead`, with its reason
    /// (unless it was already delivered or read); whether it changed.
    pub async fn record_undeliverable(
        &self,
        channel: &str,
        provider_id: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, t => {
            sqlx::query(
                "UPDATE outbox SET status = 'dead', last_error = $1, updated_at = $2
                 WHERE channel = $3 AND provider_message_id = $4 AND status = 'sent'
                   AND receipt IS NULL",
            )
            .bind(reason)
            .bind(at)
            .bind(channel)
            .bind(provider_id)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        tx.commit().await?;
        Ok(n > 0)
    }

    /// A clinic's name, time zone and messaging settings (None: no such clinic).
    pub async fn clinic_messaging(
        &self,
        clinic: ClinicId,
    ) -> Result<Option<ClinicMessagingRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ClinicMessagingRow>(
                "SELECT c.name AS clinic_name, c.time_zone, m.sender_name, m.reply_to,
                        m.reminders_enabled, m.reminder_offsets, m.quiet_start, m.quiet_end,
                        m.whatsapp_enabled, m.sms_enabled
                 FROM clinics c LEFT JOIN clinic_messaging m ON m.clinic_id = c.id WHERE c.id = $1",
            )
            .bind(clinic)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Save a clinic's messaging settings.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_clinic_messaging(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        sender_name: Option<&str>,
        reply_to: Option<&str>,
        reminders_enabled: bool,
        reminder_offsets: &str,
        quiet_start: &str,
        quiet_end: &str,
        whatsapp_enabled: bool,
        sms_enabled: bool,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO clinic_messaging (clinic_id, sender_name, reply_to, reminders_enabled,
                    reminder_offsets, quiet_start, quiet_end, updated_at, whatsapp_enabled, sms_enabled)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (clinic_id) DO UPDATE SET sender_name = excluded.sender_name,
                    reply_to = excluded.reply_to, reminders_enabled = excluded.reminders_enabled,
                    reminder_offsets = excluded.reminder_offsets, quiet_start = excluded.quiet_start,
                    quiet_end = excluded.quiet_end, updated_at = excluded.updated_at,
                    whatsapp_enabled = excluded.whatsapp_enabled, sms_enabled = excluded.sms_enabled",
            )
            .bind(clinic)
            .bind(sender_name)
            .bind(reply_to)
            .bind(reminders_enabled)
            .bind(reminder_offsets)
            .bind(quiet_start)
            .bind(quiet_end)
            .bind(super::now())
            .bind(whatsapp_enabled)
            .bind(sms_enabled)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }
}

/// An appointment as a reminder about it needs it (`Store::reminder_check`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReminderCheck {
    #[sqlx(try_from = "String")]
    pub status: crate::domain::agenda::AppointmentStatus,
    pub starts_at: DateTime<Utc>,
    /// The patient opted out of the reminder's channel.
    pub opted_out: bool,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum Attempt<'a> {
    Sent {
        to: &'a str,
        /// The provider's id of the message (its status callbacks name it).
        provider_id: Option<&'a str>,
    },
    Failed {
        error: &'a str,
        retry_at: DateTime<Utc>,
    },
    Dead {
        error: &'a str,
    },
    Cancelled {
        reason: &'a str,
    },
}
