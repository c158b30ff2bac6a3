//! Chat rooms and their messages (bodies encrypted).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
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
}

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

    /// Rooms the user belongs to: patient rooms where they are the patient or the
    /// professional, and the staff room of every clinic they work in.
    pub async fn chat_rooms_of(&self, user: UserId) -> Result<Vec<ChatRoomListRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ChatRoomListRow>(
                "SELECT r.*, c.name AS clinic_name, COALESCE(pa.social_name, pa.full_name) AS patient_name, u.full_name AS professional_name
                 FROM chat_rooms r
                 JOIN clinics c ON c.id = r.clinic_id
                 LEFT JOIN patients pa ON pa.id = r.patient_id
                 LEFT JOIN users u ON u.id = r.professional_user_id
                 WHERE (r.kind = 'patient' AND (r.professional_user_id = $1 OR pa.user_id = $1))
                    OR (r.kind = 'staff' AND r.clinic_id IN (SELECT clinic_id FROM memberships WHERE user_id = $1))
                 ORDER BY c.name, r.kind DESC, patient_name",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
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
                "INSERT INTO chat_messages (room_id, seq, id, sender_user_id, body_enc, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(m.room)
            .bind(m.seq)
            .bind(m.id)
            .bind(m.sender)
            .bind(m.body_enc)
            .bind(m.at)
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
}
