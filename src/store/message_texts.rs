//! The words a clinic wrote for its e-mails to patients (`domain::message_text`), one row
//! per rewritten message; a message with no row keeps the built-in words.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::message_text::MessageText;
use crate::domain::{ClinicId, UserId};

/// A clinic's words for one message.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageTextRow {
    pub template: String,
    pub subject: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

impl MessageTextRow {
    pub fn text(&self) -> MessageText {
        MessageText {
            subject: self.subject.clone(),
            body: self.body.clone(),
        }
    }
}

impl Store {
    /// Every message the clinic rewrote.
    pub async fn clinic_message_texts(
        &self,
        clinic: ClinicId,
    ) -> Result<Vec<MessageTextRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, MessageTextRow>(
                "SELECT template, subject, body, updated_at FROM clinic_message_texts
                 WHERE clinic_id = $1 ORDER BY template",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        }))
    }

    /// Save the clinic's words for `template` (checked by the caller).
    pub async fn set_clinic_message_text(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        template: &str,
        text: &MessageText,
        by: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO clinic_message_texts (clinic_id, template, subject, body, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (clinic_id, template) DO UPDATE SET subject = excluded.subject,
                    body = excluded.body, updated_by = excluded.updated_by,
                    updated_at = excluded.updated_at",
            )
            .bind(clinic)
            .bind(template)
            .bind(&text.subject)
            .bind(&text.body)
            .bind(by)
            .bind(at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Go back to the built-in words of `template`; whether the clinic had its own.
    pub async fn delete_clinic_message_text(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        template: &str,
    ) -> Result<bool, StoreError> {
        let n = on_tx!(tx, t => {
            sqlx::query("DELETE FROM clinic_message_texts WHERE clinic_id = $1 AND template = $2")
                .bind(clinic)
                .bind(template)
                .execute(&mut **t)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }
}
