//! Chat rooms and their messages (bodies encrypted).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::text::name_order;
use crate::domain::{ChatRoomId, ClinicId, PatientId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatRoomRow {
    pub id: ChatRoomId,
    pub clinic_id: ClinicId,
    /// `patient` or `staff`.
    pub kind: String,
    pub patient_id: Option<PatientId>,
    pub professional_user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A room with the names the room list shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatRoomListRow {
    #[sqlx(flatten)]
    pub room: ChatRoomRow,
    pub clinic_name: String,
    pub patient_name: Option<String>,
    pub professional_name: Option<String>,
    pub professional_profession: Option<String>,
    pub professional_gender: Option<String>,
}

/// A professional a patient's record may start a conversation with: one who has seen the
/// patient in that clinic (an appointment checked in, in progress or done). The patient's
/// contact list answers it as it is.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ChatContact {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    /// The patient's record at that clinic.
    pub patient_id: PatientId,
    pub professional_user_id: UserId,
    pub professional_name: String,
    /// `doctor`, `dentist`, … (for the title the page shows), when known.
    pub profession: Option<String>,
    /// `female` or `male`, when the professional gave it.
    pub gender: Option<String>,
    /// Their conversation, when it is already open.
    pub room_id: Option<ChatRoomId>,
}

/// A message about to be stored.
pub struct NewChatMessage<'a> {
    pub room: ChatRoomId,
    pub seq: i64,
    /// Client-generated id (idempotency key).
    pub id: uuid::Uuid,
    pub sender: UserId,
    pub body_enc: &'a str,
    pub at: DateTime<Utc>,
    pub attachment_id: Option<uuid::Uuid>,
}

/// A stored message with its sender's name and attachment metadata.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChatMessageRow {
    pub seq: i64,
    pub id: uuid::Uuid,
    pub sender_user_id: UserId,
    pub sender_name: String,
    pub body_enc: String,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub attachment_id: Option<uuid::Uuid>,
    /// As stored: encrypted (`v1:` form), or plain for a file uploaded before encryption at
    /// rest. Open it with [`crate::security::crypto::FieldCipher::open_text`].
    pub attachment_filename: Option<String>,
    pub attachment_content_type: Option<String>,
    pub attachment_size: Option<i64>,
}

/// An uploaded file, without its bytes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentMeta {
    pub id: uuid::Uuid,
    pub room_id: ChatRoomId,
    pub uploader_user_id: UserId,
    /// As stored: encrypted (`v1:` form), or plain for a file uploaded before encryption at
    /// rest.
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

const MESSAGE_SELECT: &str =
    "SELECT m.seq, m.id, m.sender_user_id, u.full_name_enc AS sender_name, m.body_enc, m.created_at,
        m.edited_at, m.deleted_at, m.attachment_id, a.filename_enc AS attachment_filename,
        a.content_type AS attachment_content_type, a.size_bytes AS attachment_size
 FROM chat_messages m JOIN users u ON u.id = m.sender_user_id
 LEFT JOIN chat_attachments a ON a.id = m.attachment_id";

impl Store {
    /// Insert a room, or return the existing one for the same pair / clinic staff room.
    pub async fn ensure_chat_room(&self, room: &ChatRoomRow) -> Result<ChatRoomRow, StoreError> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, t => {
            sqlx::query(
                "INSERT INTO chat_rooms (id, clinic_id, kind, patient_id, professional_user_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(room.id)
            .bind(room.clinic_id)
            .bind(&room.kind)
            .bind(room.patient_id)
            .bind(room.professional_user_id)
            .bind(room.created_at)
            .execute(&mut **t)
            .await?;
        });
        let existing: ChatRoomRow = on_tx!(&mut tx, t => {
            if room.kind == "staff" {
                sqlx::query_as::<_, ChatRoomRow>(
                    "SELECT * FROM chat_rooms WHERE clinic_id = $1 AND kind = 'staff'",
                )
                .bind(room.clinic_id)
                .fetch_one(&mut **t)
                .await?
            } else {
                sqlx::query_as::<_, ChatRoomRow>(
                    "SELECT * FROM chat_rooms WHERE clinic_id = $1 AND kind = 'patient'
                     AND patient_id = $2 AND professional_user_id = $3",
                )
                .bind(room.clinic_id)
                .bind(room.patient_id)
                .bind(room.professional_user_id)
                .fetch_one(&mut **t)
                .await?
            }
        });
        tx.commit().await?;
        Ok(existing)
    }

    pub async fn chat_room(&self, id: ChatRoomId) -> Result<Option<ChatRoomRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ChatRoomRow>("SELECT * FROM chat_rooms WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    /// Rooms the user belongs to: patient rooms where they are the patient (own or linked
    /// record) or the
    /// professional, and the staff room of every clinic they work in.
    pub async fn chat_rooms_of(&self, user: UserId) -> Result<Vec<ChatRoomListRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ChatRoomListRow>(
                "SELECT r.*, c.name AS clinic_name, COALESCE(pa.social_name_enc, pa.full_name_enc) AS patient_name, u.full_name_enc AS professional_name,
                        pr.profession AS professional_profession, pr.gender AS professional_gender
                 FROM chat_rooms r
                 JOIN clinics c ON c.id = r.clinic_id
                 LEFT JOIN patients pa ON pa.id = r.patient_id
                 LEFT JOIN users u ON u.id = r.professional_user_id
                 LEFT JOIN professionals pr ON pr.user_id = r.professional_user_id
                 WHERE (r.kind = 'patient' AND (r.professional_user_id = $1 OR pa.user_id = $1
                        OR r.patient_id IN (SELECT patient_id FROM patient_links WHERE user_id = $1 AND state = 'linked')))
                    OR (r.kind = 'staff' AND r.clinic_id IN (SELECT clinic_id FROM memberships WHERE user_id = $1))
                 ORDER BY c.name, r.kind DESC",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        });
        let mut rooms = rows
            .into_iter()
            .map(|mut r| {
                r.patient_name = self.unseal_opt(r.patient_name.take())?;
                r.professional_name = self.unseal_opt(r.professional_name.take())?;
                Ok(r)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // The patients' names are sealed: the database orders by clinic and kind, and the
        // rooms of a clinic's kind order by name here.
        for group in
            rooms.chunk_by_mut(|a, b| a.clinic_name == b.clinic_name && a.room.kind == b.room.kind)
        {
            group.sort_by(|a, b| {
                name_order(
                    a.patient_name.as_deref().unwrap_or(""),
                    b.patient_name.as_deref().unwrap_or(""),
                )
            });
        }
        Ok(rooms)
    }

    /// The professionals who have seen the patient of record `patient` at `clinic` (see
    /// [`ChatContact`]), with their conversation if one is open.
    pub async fn chat_contacts(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<ChatContact>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ChatContact>(
                "SELECT c.id AS clinic_id, c.name AS clinic_name, a.patient_id,
                        u.id AS professional_user_id, u.full_name_enc AS professional_name,
                        pr.profession, pr.gender,
                        (SELECT r.id FROM chat_rooms r WHERE r.kind = 'patient' AND r.clinic_id = c.id
                           AND r.patient_id = a.patient_id AND r.professional_user_id = u.id) AS room_id
                 FROM (SELECT DISTINCT clinic_id, patient_id, professional_user_id FROM appointments
                       WHERE clinic_id = $1 AND patient_id = $2
                         AND status IN ('checked_in', 'in_progress', 'done')) a
                 JOIN clinics c ON c.id = a.clinic_id
                 JOIN users u ON u.id = a.professional_user_id
                 LEFT JOIN professionals pr ON pr.user_id = u.id
                 WHERE u.disabled_at IS NULL
                   AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id
                               AND m.clinic_id = c.id AND m.role = 'professional')",
            )
            .bind(clinic)
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        let mut contacts = self.open_names(rows, |r| &mut r.professional_name)?;
        contacts.sort_by(|a, b| name_order(&a.professional_name, &b.professional_name));
        Ok(contacts)
    }

    /// Seq of an already stored message with this client-generated id, if any.
    pub async fn chat_message_seq(
        &self,
        tx: &mut Tx,
        room: ChatRoomId,
        id: uuid::Uuid,
    ) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, (i64, DateTime<Utc>)>(
                "SELECT seq, created_at FROM chat_messages WHERE room_id = $1 AND id = $2",
            )
            .bind(room)
            .bind(id)
            .fetch_optional(&mut **t)
            .await?
        }))
    }

    pub async fn insert_chat_message(
        &self,
        tx: &mut Tx,
        m: &NewChatMessage<'_>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO chat_messages (room_id, seq, id, sender_user_id, body_enc, created_at, attachment_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(m.room)
            .bind(m.seq)
            .bind(m.id)
            .bind(m.sender)
            .bind(m.body_enc)
            .bind(m.at)
            .bind(m.attachment_id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn chat_message_count(&self, room: ChatRoomId) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM chat_messages WHERE room_id = $1")
                .bind(room)
                .fetch_one(p)
                .await?
        }))
    }

    /// A page of messages with `seq < before`, oldest first.
    pub async fn chat_history(
        &self,
        room: ChatRoomId,
        before: i64,
        limit: i64,
    ) -> Result<Vec<ChatMessageRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{MESSAGE_SELECT} WHERE m.room_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        ));
        let mut rows = on_pool!(self, p => {
            sqlx::query_as::<_, ChatMessageRow>(sql)
                .bind(room)
                .bind(before)
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        rows.reverse();
        self.open_names(rows, |m| &mut m.sender_name)
    }

    pub async fn chat_message_tx(
        &self,
        tx: &mut Tx,
        room: ChatRoomId,
        id: uuid::Uuid,
    ) -> Result<Option<ChatMessageRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{MESSAGE_SELECT} WHERE m.room_id = $1 AND m.id = $2"
        ));
        let rows = on_tx!(tx, t => {
            sqlx::query_as::<_, ChatMessageRow>(sql)
                .bind(room)
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        });
        self.open_name_opt(rows, |r| &mut r.sender_name)
    }

    pub async fn edit_chat_message(
        &self,
        tx: &mut Tx,
        room: ChatRoomId,
        id: uuid::Uuid,
        body_enc: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE chat_messages SET body_enc = $1, edited_at = $2 WHERE room_id = $3 AND id = $4")
                .bind(body_enc)
                .bind(at)
                .bind(room)
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Soft delete: the row stays (audited) but its body is no longer served.
    pub async fn delete_chat_message(
        &self,
        tx: &mut Tx,
        room: ChatRoomId,
        id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE chat_messages SET deleted_at = $1 WHERE room_id = $2 AND id = $3")
                .bind(at)
                .bind(room)
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Rewrite a stored event's payload (an edited or deleted message replays as it is now).
    pub async fn set_topic_event_payload(
        &self,
        tx: &mut Tx,
        topic: &str,
        seq: i64,
        payload_enc: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE topic_events SET payload_enc = $1 WHERE topic = $2 AND seq = $3")
                .bind(payload_enc)
                .bind(topic)
                .bind(seq)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Move a reader's position forward (never back); returns the position now stored.
    pub async fn mark_chat_read(
        &self,
        room: ChatRoomId,
        user: UserId,
        seq: i64,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "INSERT INTO chat_reads (room_id, user_id, last_read_seq, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (room_id, user_id) DO UPDATE SET
                   last_read_seq = CASE WHEN excluded.last_read_seq > chat_reads.last_read_seq
                                        THEN excluded.last_read_seq ELSE chat_reads.last_read_seq END,
                   updated_at = excluded.updated_at
                 RETURNING last_read_seq",
            )
            .bind(room)
            .bind(user)
            .bind(seq)
            .bind(super::now())
            .fetch_one(p)
            .await?
        }))
    }

    pub async fn chat_reads(&self, room: ChatRoomId) -> Result<Vec<(UserId, i64)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, (UserId, i64)>(
                "SELECT user_id, last_read_seq FROM chat_reads WHERE room_id = $1",
            )
            .bind(room)
            .fetch_all(p)
            .await?
        }))
    }

    /// Messages from others after the user's read position (deleted ones not counted).
    pub async fn chat_unread(&self, room: ChatRoomId, user: UserId) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM chat_messages m
                 WHERE m.room_id = $1 AND m.sender_user_id <> $2 AND m.deleted_at IS NULL
                   AND m.seq > coalesce((SELECT last_read_seq FROM chat_reads WHERE room_id = $1 AND user_id = $2), 0)",
            )
            .bind(room)
            .bind(user)
            .fetch_one(p)
            .await?
        }))
    }

    /// Users who belong to a room (see `actors::chat::is_member`).
    pub async fn chat_room_members(&self, room: &ChatRoomRow) -> Result<Vec<UserId>, StoreError> {
        if room.kind == "staff" {
            return Ok(on_pool!(self, p => {
                sqlx::query_scalar::<_, UserId>(
                    "SELECT DISTINCT user_id FROM memberships WHERE clinic_id = $1",
                )
                .bind(room.clinic_id)
                .fetch_all(p)
                .await?
            }));
        }
        let mut members: Vec<UserId> = room.professional_user_id.into_iter().collect();
        if let Some(pid) = room.patient_id
            && let Some(patient) = self.patient_by_id(pid).await?
            && let Some(u) = patient.user_id
        {
            members.push(u);
        }
        Ok(members)
    }

    /// Store an upload; `meta.filename` and `data` come already encrypted.
    pub async fn insert_chat_attachment(
        &self,
        meta: &AttachmentMeta,
        data: &[u8],
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO chat_attachments (id, room_id, uploader_user_id, filename_enc, content_type, size_bytes, sha256, data, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(meta.id)
            .bind(meta.room_id)
            .bind(meta.uploader_user_id)
            .bind(&meta.filename)
            .bind(&meta.content_type)
            .bind(meta.size_bytes)
            .bind(&meta.sha256)
            .bind(data)
            .bind(meta.created_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    pub async fn chat_attachment_meta(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<AttachmentMeta>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, AttachmentMeta>(
                "SELECT id, room_id, uploader_user_id, filename_enc AS filename, content_type, size_bytes, sha256, created_at
                 FROM chat_attachments WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn chat_attachment_data(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, Vec<u8>>("SELECT data FROM chat_attachments WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    /// Whether a message already carries this attachment.
    pub async fn chat_attachment_used(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM chat_messages WHERE attachment_id = $1")
                .bind(id)
                .fetch_one(&mut **t)
                .await?
                > 0
        }))
    }

    pub async fn set_office_hours(
        &self,
        user: UserId,
        json: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query("UPDATE professionals SET office_hours = $1 WHERE user_id = $2")
                .bind(json)
                .bind(user)
                .execute(p)
                .await?;
        });
        Ok(())
    }

    pub async fn office_hours(&self, user: UserId) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, Option<String>>("SELECT office_hours FROM professionals WHERE user_id = $1")
                .bind(user)
                .fetch_optional(p)
                .await?
                .flatten()
        }))
    }

    /// Stored events of one name on a topic after `after`, for rewriting (still encrypted).
    pub async fn topic_events_named(
        &self,
        tx: &mut Tx,
        topic: &str,
        event: &str,
        after: i64,
    ) -> Result<Vec<super::events::EventRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, super::events::EventRow>(
                "SELECT seq, event, payload_enc FROM topic_events WHERE topic = $1 AND event = $2 AND seq > $3 ORDER BY seq",
            )
            .bind(topic)
            .bind(event)
            .bind(after)
            .fetch_all(&mut **t)
            .await?
        }))
    }

    /// Remove an attachment's bytes (its message was deleted).
    pub async fn delete_chat_attachment(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM chat_attachments WHERE id = $1")
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// A reader's position in a room (0 when they never read it).
    pub async fn chat_read_position(
        &self,
        room: ChatRoomId,
        user: UserId,
    ) -> Result<i64, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT last_read_seq FROM chat_reads WHERE room_id = $1 AND user_id = $2",
            )
            .bind(room)
            .bind(user)
            .fetch_optional(p)
            .await?
            .unwrap_or(0)
        }))
    }
}
