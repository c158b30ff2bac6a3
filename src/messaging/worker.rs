//! The delivery worker every node runs: it claims due messages under a lease (so no two
//! nodes send the same one), sends each through its channel, and records the outcome —
//! `sent`, `failed` with the provider's reason and a retry time (exponential backoff with
//! jitter), `dead` after the last attempt or a permanent refusal, or `cancelled` for a
//! reminder whose appointment was cancelled or moved since it was queued, or whose patient
//! opted out of the channel since.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Attachment, Channel, DOCUMENT_TEMPLATE, Outgoing, SendError, Sender};
use crate::clock::SharedClock;
use crate::config::MessagingSettings;
use crate::domain::ClinicId;
use crate::domain::message_text::MessageText;
use crate::security::crypto::FieldCipher;
use crate::store::outbox::{Attempt, ClaimedMessage};
use crate::store::{Store, StoreError};

/// Everything a node needs to deliver the outbox.
pub struct Delivery {
    pub store: Store,
    pub cipher: FieldCipher,
    pub clock: SharedClock,
    pub channels: Vec<Arc<dyn Channel>>,
    pub settings: MessagingSettings,
    /// Absolute base of the links in messages.
    pub base_url: String,
    /// This node's name on its leases.
    pub owner: String,
    /// The `From` name of messages of no clinic.
    pub default_sender: String,
}

/// How long to wait before attempt `attempts + 1`: `base · 2^(attempts-1)` capped at
/// `max`, of which a random half ("equal jitter"), so that messages that failed together
/// do not all come back together.
pub fn backoff(attempts: i32, base: Duration, max: Duration, unit_random: f64) -> Duration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let full = base.saturating_mul(1u32 << exp.min(20)).min(max);
    let half = full / 2;
    half + half.mul_f64(unit_random.clamp(0.0, 1.0))
}

impl Delivery {
    /// Claim and send what is due on every channel; how many messages were handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let mut handled = 0;
        for channel in &self.channels {
            let now = self.clock.now();
            let lease = now + chrono::Duration::seconds(self.settings.lease_secs as i64);
            let claimed = self
                .store
                .claim_messages(
                    channel.name(),
                    &self.owner,
                    now,
                    lease,
                    i64::from(self.settings.batch_size),
                )
                .await?;
            handled += claimed.len();
            let senders = self.senders(&claimed).await;
            let sends = claimed
                .into_iter()
                .map(|m| self.deliver(channel.as_ref(), m, &senders));
            for r in futures_util::future::join_all(sends).await {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "outbox: recording an attempt failed");
                }
            }
        }
        Ok(handled)
    }

    /// One attempt at one claimed message, and its outcome recorded.
    async fn deliver(
        &self,
        channel: &dyn Channel,
        m: ClaimedMessage,
        senders: &Senders,
    ) -> Result<(), StoreError> {
        let id = m.id;
        let outcome = self.attempt(channel, &m, senders).await;
        let now = self.clock.now();
        let (state, held) = match &outcome {
            Ok((to, provider_id)) => (
                "sent",
                self.store
                    .finish_attempt(
                        id,
                        &self.owner,
                        Attempt::Sent {
                            to,
                            provider_id: provider_id.as_deref(),
                        },
                        now,
                    )
                    .await?,
            ),
            Err(Stop::Cancelled(reason)) => (
                "cancelled",
                self.store
                    .finish_attempt(id, &self.owner, Attempt::Cancelled { reason }, now)
                    .await?,
            ),
            Err(Stop::Failed(e))
                if e.permanent || m.attempts >= self.settings.max_attempts as i32 =>
            {
                tracing::warn!(message = %id, attempts = m.attempts, reason = %e.reason, "outbox: message given up");
                (
                    "dead",
                    self.store
                        .finish_attempt(id, &self.owner, Attempt::Dead { error: &e.reason }, now)
                        .await?,
                )
            }
            Err(Stop::Failed(e)) => {
                let wait = backoff(
                    m.attempts,
                    Duration::from_secs(self.settings.retry_base_secs),
                    Duration::from_secs(self.settings.retry_max_secs),
                    rand::random::<f64>(),
                );
                let retry_at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::info!(message = %id, attempts = m.attempts, reason = %e.reason, %retry_at, "outbox: send failed, will retry");
                (
                    "failed",
                    self.store
                        .finish_attempt(
                            id,
                            &self.owner,
                            Attempt::Failed {
                                error: &e.reason,
                                retry_at,
                            },
                            now,
                        )
                        .await?,
                )
            }
        };
        if held {
            metrics::counter!("atende_outbox_messages_total", "channel" => m.channel.clone(), "state" => state)
                .increment(1);
        } else {
            tracing::warn!(message = %id, "outbox: lease lost before the outcome was recorded");
        }
        Ok(())
    }

    /// Send `m`: the address it went to and the provider's id of it, or why not.
    async fn attempt(
        &self,
        channel: &dyn Channel,
        m: &ClaimedMessage,
        senders: &Senders,
    ) -> Result<(String, Option<String>), Stop> {
        if let Some(taken) = &m.provider_message_id {
            // A status callback named this message while it was being sent: the provider
            // has it (the node that sent it died before recording so). Not again.
            tracing::info!(message = %m.id, "outbox: the provider already took this message");
            return Ok((self.recipient(m).await?, Some(taken.clone())));
        }
        let payload: Value = self
            .cipher
            .decrypt(&m.payload)
            .ok()
            .and_then(|p| serde_json::from_str(&p).ok())
            .ok_or_else(|| Stop::Failed(SendError::permanent("payload cannot be decrypted")))?;
        if m.template == "appointment_reminder" {
            self.still_true(m, &payload).await?;
        }
        let attachment = if m.template == DOCUMENT_TEMPLATE {
            self.document(channel, &payload).await?
        } else {
            None
        };
        let to = self.recipient(m).await?;
        let (sender, text) = match m.clinic_id.and_then(|c| senders.get(&c)) {
            Some(v) => (v.sender.clone(), v.texts.get(&m.template).cloned()),
            None => (
                self.sender(m.clinic_id)
                    .await
                    .map_err(|e| Stop::Failed(SendError::transient(e.to_string())))?,
                None,
            ),
        };
        let out = Outgoing {
            id: m.id,
            idempotency_key: m.id.simple().to_string(),
            template: m.template.clone(),
            payload,
            to: to.clone(),
            sender,
            base_url: self.base_url.clone(),
            created_at: m.created_at,
            attachment,
            text,
        };
        let accepted = channel.send(&out).await.map_err(Stop::Failed)?;
        Ok((to, accepted.provider_id))
    }

    /// A document goes out only while it stands (one revoked since it was queued is not
    /// sent); with its signed PDF for a channel that sends the file.
    async fn document(
        &self,
        channel: &dyn Channel,
        payload: &Value,
    ) -> Result<Option<Attachment>, Stop> {
        let store_err = |e: StoreError| Stop::Failed(SendError::transient(e.to_string()));
        let Some(id) = payload["document_id"]
            .as_str()
            .and_then(|s| s.parse::<uuid::Uuid>().ok())
        else {
            return Err(Stop::Failed(SendError::permanent(
                "the message names no document",
            )));
        };
        let Some(view) = self.store.document(id).await.map_err(store_err)? else {
            return Err(Stop::Cancelled("the document no longer exists"));
        };
        if view.d.revoked_at.is_some() {
            return Err(Stop::Cancelled("the document was revoked"));
        }
        if !channel.attaches(DOCUMENT_TEMPLATE) {
            return Ok(None);
        }
        let sealed = self
            .store
            .document_pdf(id)
            .await
            .map_err(store_err)?
            .ok_or_else(|| Stop::Failed(SendError::permanent("the document has no signed file")))?;
        let bytes = self
            .cipher
            .open_bytes(sealed)
            .map_err(|_| Stop::Failed(SendError::permanent("the document cannot be decrypted")))?;
        Ok(Some(Attachment {
            file_name: view.d.kind.file_name(&view.d.code),
            content_type: "application/pdf",
            bytes,
        }))
    }

    /// The channel's address of `m`'s recipient: the one it was queued with, else the
    /// patient's phone (WhatsApp, SMS) or e-mail address on file now.
    async fn recipient(&self, m: &ClaimedMessage) -> Result<String, Stop> {
        let store_err = |e: StoreError| Stop::Failed(SendError::transient(e.to_string()));
        let no_phone = || Stop::Failed(SendError::permanent("no phone on file"));
        Ok(match (&m.to_address, m.channel.as_str()) {
            (Some(a), _) => a.clone(),
            (None, "whatsapp") => self
                .store
                .message_phone(m.patient_id)
                .await
                .map_err(store_err)?
                .map(|p| super::whatsapp::wa_number(&p))
                .ok_or_else(no_phone)?,
            (None, "sms") => self
                .store
                .message_phone(m.patient_id)
                .await
                .map_err(store_err)?
                .ok_or_else(no_phone)?,
            (None, _) => self
                .store
                .message_email(m.patient_id, m.user_id)
                .await
                .map_err(store_err)?
                .ok_or_else(|| Stop::Failed(SendError::permanent("no e-mail address on file")))?,
        })
    }

    /// A reminder goes out only while its appointment is still open and at the time the
    /// reminder names (a moved appointment gets new reminders), and while its patient has
    /// not opted out of the channel since it was queued (one read for all of it).
    async fn still_true(&self, m: &ClaimedMessage, payload: &Value) -> Result<(), Stop> {
        let Some(id) = m.appointment_id else {
            return Ok(());
        };
        let check = self
            .store
            .reminder_check(id, m.patient_id, &m.channel)
            .await
            .map_err(|e| Stop::Failed(SendError::transient(e.to_string())))?;
        let named: Option<DateTime<Utc>> =
            payload["starts_at"].as_str().and_then(|s| s.parse().ok());
        match check {
            Some(c) if !c.status.is_open() => {
                Err(Stop::Cancelled("the appointment is no longer open"))
            }
            Some(c) if Some(c.starts_at) != named => {
                Err(Stop::Cancelled("the appointment was moved"))
            }
            Some(c) if c.starts_at <= self.clock.now() => {
                Err(Stop::Cancelled("the appointment has started"))
            }
            Some(c) if c.opted_out => Err(Stop::Cancelled("the patient opted out of this channel")),
            Some(_) => Ok(()),
            None => Err(Stop::Cancelled("the appointment no longer exists")),
        }
    }

    /// The sender and the rewritten texts of each clinic with messages in `batch`, read
    /// once for the batch: a burst of reminders is mostly one clinic's, and this was one
    /// query per message. (A clinic whose read failed is left out: its messages read their
    /// sender themselves and go with the built-in words.)
    async fn senders(&self, batch: &[ClaimedMessage]) -> Senders {
        let clinics: std::collections::BTreeSet<ClinicId> =
            batch.iter().filter_map(|m| m.clinic_id).collect();
        let mut senders = Senders::new();
        for c in clinics {
            let (Ok(sender), Ok(texts)) = (
                self.sender(Some(c)).await,
                self.store.clinic_message_texts(c).await,
            ) else {
                continue;
            };
            let texts = texts
                .iter()
                .map(|t| (t.template.clone(), t.text()))
                .collect();
            senders.insert(c, Voice { sender, texts });
        }
        senders
    }

    /// The clinic as sender (its configured name, else its name; its reply-to and zone).
    async fn sender(&self, clinic: Option<ClinicId>) -> Result<Sender, StoreError> {
        let default = Sender {
            name: self.default_sender.clone(),
            reply_to: None,
            time_zone: chrono_tz::America::Sao_Paulo,
        };
        let Some(clinic) = clinic else {
            return Ok(default);
        };
        let Some(row) = self.store.clinic_messaging(clinic).await? else {
            return Ok(default);
        };
        Ok(Sender::of_clinic(row))
    }

    /// Publish the queue's depth by channel and the oldest waiting message's age.
    pub async fn publish_gauges(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut depth: std::collections::BTreeMap<String, (i64, Option<DateTime<Utc>>)> =
            std::collections::BTreeMap::new();
        for c in self.store.outbox_counts().await? {
            let e = depth.entry(c.channel.clone()).or_default();
            if matches!(c.status.as_str(), "queued" | "failed" | "sending") {
                e.0 += c.count;
                e.1 = match (e.1, c.oldest) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            metrics::gauge!("atende_outbox_messages", "channel" => c.channel, "state" => c.status)
                .set(c.count as f64);
        }
        for (channel, (n, oldest)) in depth {
            metrics::gauge!("atende_outbox_queue_depth", "channel" => channel.clone())
                .set(n as f64);
            let age = oldest.map_or(0.0, |o| (now - o).num_milliseconds().max(0) as f64 / 1000.0);
            metrics::gauge!("atende_outbox_oldest_queued_seconds", "channel" => channel).set(age);
        }
        Ok(())
    }

    /// Run on this node until the process ends: a look every `poll_interval_ms` (at once
    /// again while there is more to send), the gauges every few seconds.
    pub fn spawn(self: Arc<Self>) {
        if self.channels.is_empty() {
            tracing::warn!(
                "no delivery channel configured (messaging.smtp.host, messaging.mail_dir, messaging.whatsapp.phone_number_id and messaging.sms.account_sid are empty): messages stay queued in the outbox"
            );
        }
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        actix_web::rt::spawn(async move {
            let mut last_gauges: Option<std::time::Instant> = None;
            loop {
                let busy = match self.run_once().await {
                    Ok(n) => n >= self.settings.batch_size as usize,
                    Err(e) => {
                        tracing::warn!(error = %e, "outbox delivery failed");
                        false
                    }
                };
                if last_gauges.is_none_or(|t| t.elapsed() >= Duration::from_secs(5)) {
                    last_gauges = Some(std::time::Instant::now());
                    if let Err(e) = self.publish_gauges().await {
                        tracing::debug!(error = %e, "outbox gauges failed");
                    }
                }
                if !busy {
                    actix_web::rt::time::sleep(poll).await;
                }
            }
        });
    }
}

/// How a clinic speaks: its sender and the words it wrote for some messages.
struct Voice {
    sender: Sender,
    texts: std::collections::HashMap<String, MessageText>,
}

/// Each clinic's voice, for one batch.
type Senders = std::collections::HashMap<ClinicId, Voice>;

/// Why an attempt did not send.
enum Stop {
    Failed(SendError),
    Cancelled(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_in_the_upper_half() {
        let base = Duration::from_secs(30);
        let max = Duration::from_secs(3600);
        assert_eq!(backoff(1, base, max, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(1, base, max, 0.0), Duration::from_secs(15));
        assert_eq!(backoff(3, base, max, 1.0), Duration::from_secs(120));
        assert_eq!(backoff(30, base, max, 1.0), max);
        let j = backoff(4, base, max, 0.5);
        assert!(j > Duration::from_secs(120) && j < Duration::from_secs(240));
    }
}
