//! `ChatRoom`: one actor per room. Persists each message with the room topic's next seq
//! (body encrypted) before acknowledging it, then publishes it. A retried send with the
//! same client-generated id returns the stored message instead of duplicating it.

use std::time::Instant;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::protocol::{Topic, WsError};
use super::{Entity, EntityDeps, SendRate, persist_event, stop_when_idle, supervised};
use crate::bus::TopicEvent;
use crate::domain::{ChatRoomId, UserId};
use crate::security::audit::AuditEvent;
use crate::security::crypto::FieldCipher;
use crate::store::chat::{ChatMessageRow, ChatRoomRow, NewChatMessage};
use crate::store::{Store, StoreError, Tx};

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 4000;

pub struct ChatRoom {
    id: ChatRoomId,
    deps: EntityDeps,
    /// Loaded from the database on first use (and again after a restart).
    room: Option<ChatRoomRow>,
    last_active: Instant,
    /// Stored sends per person, for the per-sender rate limit.
    recent: SendRate<UserId>,
}

impl ChatRoom {
    pub fn new(id: ChatRoomId, deps: EntityDeps) -> Self {
        Self {
            id,
            deps,
            room: None,
            last_active: Instant::now(),
            recent: SendRate::default(),
        }
    }

    /// Whether the sender is within `max_messages_per_minute` stored messages in the last
    /// sliding minute (spent when a message is stored, see `supervised`).
    fn within_rate(&mut self, sender: UserId) -> bool {
        self.recent
            .within(&sender, self.deps.chat.max_messages_per_minute)
    }
}

impl Actor for ChatRoom {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        stop_when_idle(self, ctx);
    }
}

impl Entity for ChatRoom {
    type Cache = ChatRoomRow;

    fn deps(&self) -> &EntityDeps {
        &self.deps
    }

    fn last_active(&mut self) -> &mut Instant {
        &mut self.last_active
    }

    fn remember(&mut self, room: ChatRoomRow) {
        self.room = Some(room);
    }

    fn forget(&mut self) {
        self.room = None;
    }

    fn before_publish(&mut self, ev: &TopicEvent) {
        if ev.event == "chat.message"
            && let Some(sender) = ev.payload["sender"]["user_id"]
                .as_str()
                .and_then(|u| u.parse().ok())
        {
            // Only messages actually stored spend the sender's budget.
            self.recent.spend(UserId(sender));
        }
    }
}

/// Post a message to the room. The reply says which seq it got.
#[derive(Message)]
#[rtype(result = "Result<Posted, WsError>")]
pub struct PostMessage {
    pub sender: UserId,
    pub sender_name: String,
    /// Client-generated id: a retry with the same id is not stored twice.
    pub client_id: uuid::Uuid,
    pub body: String,
    /// A file uploaded to this room by the sender and not yet sent.
    pub attachment_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub seq: i64,
    pub id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    /// True when this id had already been stored (a retried send).
    pub duplicate: bool,
}

/// Change the text of one's own message, within the edit window (audited).
#[derive(Message)]
#[rtype(result = "Result<DateTime<Utc>, WsError>")]
pub struct EditMessage {
    pub editor: UserId,
    pub id: uuid::Uuid,
    pub body: String,
    /// The change's audit row: the room adds its clinic and the message's place and
    /// appends it in the transaction that stores the change.
    pub audit: AuditEvent,
}

/// Withdraw one's own message, within the edit window (soft delete, audited).
#[derive(Message)]
#[rtype(result = "Result<DateTime<Utc>, WsError>")]
pub struct DeleteMessage {
    pub editor: UserId,
    pub id: uuid::Uuid,
    /// The deletion's audit row, completed and appended as for [`EditMessage`].
    pub audit: AuditEvent,
}

/// An edit's or deletion's audit row, completed with where the message is.
fn message_audit(audit: AuditEvent, room: &ChatRoomRow, seq: i64) -> AuditEvent {
    audit
        .clinic(room.clinic_id)
        .details(json!({"room_id": room.id, "seq": seq}))
}

/// Whether `user` belongs to `room`: the patient (their record, or one linked to their
/// account) or the professional of a patient room;
/// any staff member of the clinic for its staff room.
pub async fn is_member(store: &Store, room: &ChatRoomRow, user: UserId) -> Result<bool, WsError> {
    if room.kind == "staff" {
        let roles = store.memberships_of(user).await?;
        return Ok(roles.iter().any(|m| m.clinic_id == room.clinic_id));
    }
    if room.professional_user_id == Some(user) {
        return Ok(true);
    }
    // The patient: whoever owns the room's record or proved control of it (a link).
    match room.patient_id {
        Some(pid) => Ok(store.patient_ids_of_user(user).await?.contains(&pid)),
        None => Ok(false),
    }
}

async fn load_room(
    deps: &EntityDeps,
    id: ChatRoomId,
    cached: Option<ChatRoomRow>,
) -> Result<ChatRoomRow, WsError> {
    match cached {
        Some(r) => Ok(r),
        None => deps
            .store
            .chat_room(id)
            .await?
            .ok_or_else(|| WsError::not_found("conversa não encontrada")),
    }
}

fn check_body(body: &str, allow_empty: bool) -> Result<String, WsError> {
    let body = body.trim().to_string();
    let n = body.chars().count();
    if (n == 0 && !allow_empty) || n > MAX_BODY_CHARS {
        return Err(WsError::new(
            "invalid_payload",
            format!("a mensagem deve ter de 1 a {MAX_BODY_CHARS} caracteres"),
        ));
    }
    Ok(body)
}

/// Who sent a chat message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatSender {
    pub user_id: UserId,
    pub name: String,
}

/// A file sent with a chat message (download it from `/api/chat/attachments/{id}`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatAttachmentRef {
    pub id: uuid::Uuid,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// Bytes.
    pub size: Option<i64>,
}

/// A chat message as it is now: the `chat.message` push, and (with its `seq`) a page of
/// history. A withdrawn message keeps its place without its text or file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatMessageView {
    pub id: uuid::Uuid,
    pub room_id: ChatRoomId,
    pub sender: ChatSender,
    /// Null once deleted.
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub attachment: Option<ChatAttachmentRef>,
    /// The room topic's seq of the message (history only; a push carries it in its frame).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
}

impl ChatMessageView {
    /// The message `m` of `room` with its (decrypted) `body`.
    pub fn of(room: ChatRoomId, m: &ChatMessageRow, body: Option<&str>) -> Self {
        let deleted = m.deleted_at.is_some();
        Self {
            id: m.id,
            room_id: room,
            sender: ChatSender {
                user_id: m.sender_user_id,
                name: m.sender_name.clone(),
            },
            body: if deleted {
                None
            } else {
                body.map(str::to_string)
            },
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted,
            attachment: m
                .attachment_id
                .filter(|_| !deleted)
                .map(|id| ChatAttachmentRef {
                    id,
                    filename: m.attachment_filename.clone(),
                    content_type: m.attachment_content_type.clone(),
                    size: m.attachment_size,
                }),
            seq: None,
        }
    }
}

/// A stored message's attachment name as uploaded (stored encrypted; plain when it predates
/// encryption at rest).
pub fn open_attachment_name(
    cipher: &FieldCipher,
    m: &mut ChatMessageRow,
) -> Result<(), crate::security::crypto::CryptoError> {
    if let Some(name) = m.attachment_filename.take() {
        m.attachment_filename = Some(cipher.open_text(name)?);
    }
    Ok(())
}

/// The payload of a `chat.message` push as the message is now.
pub fn message_payload(room: ChatRoomId, m: &ChatMessageRow, body: Option<&str>) -> Value {
    serde_json::to_value(ChatMessageView::of(room, m, body)).unwrap_or_default()
}

/// Push everyone else's new unread count to their `user:<id>` topic (ephemeral).
fn notify_unread(deps: &EntityDeps, room: ChatRoomRow, sender: UserId, last_seq: i64) {
    let deps = deps.clone();
    actix::spawn(async move {
        let Ok(members) = deps.store.chat_room_members(&room).await else {
            return;
        };
        for member in members.into_iter().filter(|m| *m != sender) {
            let read = deps
                .store
                .chat_read_position(room.id, member)
                .await
                .unwrap_or(0);
            if let Ok(unread) = deps.store.chat_unread(room.id, member).await {
                deps.bus.publish(TopicEvent {
                    topic: Topic::User(member).to_string(),
                    event: "chat.unread".into(),
                    seq: None,
                    // With the reader's position, so a client can drop a count that a later
                    // `read` of theirs already made stale (the two pushes may cross).
                    payload: json!({"room_id": room.id, "unread": unread, "last_seq": last_seq,
                                    "last_read_seq": read}),
                });
            }
        }
    });
}

impl Handler<PostMessage> for ChatRoom {
    type Result = AtomicResponse<Self, Result<Posted, WsError>>;

    fn handle(&mut self, msg: PostMessage, _ctx: &mut Self::Context) -> Self::Result {
        let deps = self.deps.clone();
        let id = self.id;
        let cached = self.room.clone();
        let allowed = self.within_rate(msg.sender);
        let work = async move {
            let body = check_body(&msg.body, msg.attachment_id.is_some())?;
            let room = load_room(&deps, id, cached).await?;
            if !is_member(&deps.store, &room, msg.sender).await? {
                return Err(WsError::forbidden());
            }
            let topic = Topic::Chat(id).to_string();
            let mut tx = deps.store.begin().await?;
            if let Some((seq, created_at)) = deps
                .store
                .chat_message_seq(&mut tx, id, msg.client_id)
                .await?
            {
                return Ok(retried(room, seq, msg.client_id, created_at));
            }
            if !allowed {
                return Err(WsError::rate_limited(
                    "muitas mensagens nesta conversa; aguarde um minuto",
                ));
            }
            let attachment = match msg.attachment_id {
                None => None,
                Some(aid) => {
                    let meta = deps.store.chat_attachment_meta(aid).await?;
                    let valid = meta
                        .as_ref()
                        .is_some_and(|m| m.room_id == id && m.uploader_user_id == msg.sender);
                    if !valid || deps.store.chat_attachment_used(&mut tx, aid).await? {
                        return Err(WsError::new(
                            "invalid_attachment",
                            "anexo inválido ou já enviado",
                        ));
                    }
                    meta
                }
            };
            let now = deps.clock.now();
            let row = ChatMessageRow {
                seq: 0,
                id: msg.client_id,
                sender_user_id: msg.sender,
                sender_name: msg.sender_name.clone(),
                body_enc: String::new(),
                created_at: now,
                edited_at: None,
                deleted_at: None,
                attachment_id: attachment.as_ref().map(|a| a.id),
                attachment_filename: attachment
                    .as_ref()
                    .map(|a| deps.cipher.open_text(a.filename.clone()))
                    .transpose()
                    .map_err(|_| WsError::internal())?,
                attachment_content_type: attachment.as_ref().map(|a| a.content_type.clone()),
                attachment_size: attachment.as_ref().map(|a| a.size_bytes),
            };
            let payload = message_payload(id, &row, Some(&body));
            let event = persist_event(&deps, &mut tx, &topic, "chat.message", payload).await?;
            let seq = event.seq.unwrap_or_default();
            let body_enc = deps
                .cipher
                .encrypt(&body)
                .map_err(|_| WsError::internal())?;
            let inserted = deps
                .store
                .insert_chat_message(
                    &mut tx,
                    &NewChatMessage {
                        room: id,
                        seq,
                        id: msg.client_id,
                        sender: msg.sender,
                        body_enc: &body_enc,
                        at: now,
                        attachment_id: row.attachment_id,
                    },
                )
                .await;
            if let Err(e) = inserted {
                // The same client id stored meanwhile by another node's actor: a retry.
                if let StoreError::Conflict(_) = e.unique_on(&["chat_messages"]) {
                    drop(tx);
                    let mut tx = deps.store.begin().await?;
                    if let Some((seq, created_at)) = deps
                        .store
                        .chat_message_seq(&mut tx, id, msg.client_id)
                        .await?
                    {
                        return Ok(retried(room, seq, msg.client_id, created_at));
                    }
                    // Not our id: the attachment went out with another message meanwhile.
                    return Err(WsError::new(
                        "invalid_attachment",
                        "anexo inválido ou já enviado",
                    ));
                }
                return Err(WsError::internal());
            }
            tx.commit().await?;
            notify_unread(&deps, room.clone(), msg.sender, seq);
            Ok((
                room,
                Posted {
                    seq,
                    id: msg.client_id,
                    created_at: now,
                    duplicate: false,
                },
                vec![event],
            ))
        };
        supervised(self, work)
    }
}

/// The answer to a send whose client id is already stored: the stored message, no event.
fn retried(
    room: ChatRoomRow,
    seq: i64,
    id: uuid::Uuid,
    created_at: DateTime<Utc>,
) -> (ChatRoomRow, Posted, Vec<TopicEvent>) {
    let posted = Posted {
        seq,
        id,
        created_at,
        duplicate: true,
    };
    (room, posted, Vec::new())
}

/// Load a message for a change by its sender within the window.
async fn editable(
    deps: &EntityDeps,
    tx: &mut Tx,
    room: ChatRoomId,
    id: uuid::Uuid,
    editor: UserId,
) -> Result<ChatMessageRow, WsError> {
    let mut m = deps
        .store
        .chat_message_tx(tx, room, id)
        .await?
        .ok_or_else(|| WsError::not_found("mensagem não encontrada"))?;
    open_attachment_name(&deps.cipher, &mut m).map_err(|_| WsError::internal())?;
    if m.sender_user_id != editor {
        return Err(WsError::forbidden());
    }
    if m.deleted_at.is_some() {
        return Err(WsError::conflict("message_deleted", "mensagem já apagada"));
    }
    let window = chrono::Duration::seconds(deps.chat.edit_window_secs as i64);
    if deps.clock.now() > m.created_at + window {
        return Err(WsError::conflict(
            "edit_window_expired",
            "o prazo para editar ou apagar esta mensagem terminou",
        ));
    }
    Ok(m)
}

impl Handler<EditMessage> for ChatRoom {
    type Result = AtomicResponse<Self, Result<DateTime<Utc>, WsError>>;

    fn handle(&mut self, msg: EditMessage, _ctx: &mut Self::Context) -> Self::Result {
        let deps = self.deps.clone();
        let id = self.id;
        let cached = self.room.clone();
        let work = async move {
            let body = check_body(&msg.body, false)?;
            let room = load_room(&deps, id, cached).await?;
            if !is_member(&deps.store, &room, msg.editor).await? {
                return Err(WsError::forbidden());
            }
            let topic = Topic::Chat(id).to_string();
            let mut tx = deps.store.begin().await?;
            let mut m = editable(&deps, &mut tx, id, msg.id, msg.editor).await?;
            let now = deps.clock.now();
            let body_enc = deps
                .cipher
                .encrypt(&body)
                .map_err(|_| WsError::internal())?;
            deps.store
                .edit_chat_message(&mut tx, id, msg.id, &body_enc, now)
                .await?;
            m.edited_at = Some(now);
            let original = deps
                .cipher
                .encrypt(&message_payload(id, &m, Some(&body)).to_string())
                .map_err(|_| WsError::internal())?;
            deps.store
                .set_topic_event_payload(&mut tx, &topic, m.seq, &original)
                .await?;
            let event = persist_event(
                &deps,
                &mut tx,
                &topic,
                "chat.message_edited",
                json!({"id": msg.id, "seq": m.seq, "body": body, "edited_at": now}),
            )
            .await?;
            deps.store
                .append_audit(&mut tx, &message_audit(msg.audit, &room, m.seq))
                .await?;
            tx.commit().await?;
            Ok((room, now, vec![event]))
        };
        supervised(self, work)
    }
}

impl Handler<DeleteMessage> for ChatRoom {
    type Result = AtomicResponse<Self, Result<DateTime<Utc>, WsError>>;

    fn handle(&mut self, msg: DeleteMessage, _ctx: &mut Self::Context) -> Self::Result {
        let deps = self.deps.clone();
        let id = self.id;
        let cached = self.room.clone();
        let work = async move {
            let room = load_room(&deps, id, cached).await?;
            if !is_member(&deps.store, &room, msg.editor).await? {
                return Err(WsError::forbidden());
            }
            let topic = Topic::Chat(id).to_string();
            let mut tx = deps.store.begin().await?;
            let mut m = editable(&deps, &mut tx, id, msg.id, msg.editor).await?;
            let now = deps.clock.now();
            deps.store
                .delete_chat_message(&mut tx, id, msg.id, now)
                .await?;
            m.deleted_at = Some(now);
            // The original event replays without its text from now on.
            let redacted = deps
                .cipher
                .encrypt(&message_payload(id, &m, None).to_string())
                .map_err(|_| WsError::internal())?;
            deps.store
                .set_topic_event_payload(&mut tx, &topic, m.seq, &redacted)
                .await?;
            // Earlier edits of it must not replay its text either.
            let edits = deps
                .store
                .topic_events_named(&mut tx, &topic, "chat.message_edited", m.seq)
                .await?;
            for e in edits {
                let same = deps
                    .cipher
                    .decrypt(&e.payload_enc)
                    .ok()
                    .and_then(|p| serde_json::from_str::<Value>(&p).ok())
                    .is_some_and(|p| p["id"] == json!(msg.id));
                if same {
                    let blank = json!({"id": msg.id, "seq": m.seq, "body": null, "deleted": true});
                    let enc = deps
                        .cipher
                        .encrypt(&blank.to_string())
                        .map_err(|_| WsError::internal())?;
                    deps.store
                        .set_topic_event_payload(&mut tx, &topic, e.seq, &enc)
                        .await?;
                }
            }
            if let Some(att) = m.attachment_id {
                deps.store.delete_chat_attachment(&mut tx, att).await?;
            }
            let event = persist_event(
                &deps,
                &mut tx,
                &topic,
                "chat.message_deleted",
                json!({"id": msg.id, "seq": m.seq, "deleted_at": now}),
            )
            .await?;
            deps.store
                .append_audit(&mut tx, &message_audit(msg.audit, &room, m.seq))
                .await?;
            tx.commit().await?;
            // Others' unread counts may have dropped.
            notify_unread(&deps, room.clone(), msg.editor, m.seq);
            Ok((room, now, vec![event]))
        };
        supervised(self, work)
    }
}

/// Fault injection for the supervision test: makes the actor panic mid-work.
#[cfg(test)]
#[derive(Message)]
#[rtype(result = "Result<(), WsError>")]
pub struct Explode;

#[cfg(test)]
impl Handler<Explode> for ChatRoom {
    type Result = AtomicResponse<Self, Result<(), WsError>>;

    fn handle(&mut self, _: Explode, _ctx: &mut Self::Context) -> Self::Result {
        let work = async {
            if true {
                panic!("injected fault");
            }
            Err(WsError::internal())
        };
        supervised::<Self, ()>(self, work)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::actors::hub::Hub;
    use crate::actors::registry::Registry;
    use crate::bus::LocalBus;
    use crate::domain::{ChatRoomId, ClinicId, Role, UserId};
    use crate::store::clinics::ClinicRow;
    use crate::store::users::UserRow;

    async fn setup() -> (tempfile::TempDir, Registry, Store, ChatRoomId, UserId) {
        setup_with_idle(Duration::from_secs(600)).await
    }

    async fn setup_with_idle(
        idle: Duration,
    ) -> (tempfile::TempDir, Registry, Store, ChatRoomId, UserId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let key = (
            "t1".to_string(),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string(),
        );
        let cipher = FieldCipher::new("k", &BTreeMap::from([("k".to_string(), key.1.clone())]))
            .expect("cipher");
        let store = Store::connect(&url, 2)
            .await
            .expect("connect")
            .with_audit_keys(
                crate::security::audit::AuditKeys::new("t1", [(&key.0, &key.1)]).expect("keys"),
            )
            .with_field_cipher(cipher.clone(), b"test");
        store.migrate().await.expect("migrate");
        let clinic = ClinicRow {
            id: ClinicId::new(),
            name: "Clínica Teste".into(),
            cnpj: "11222333000181".into(),
            street: "Rua A".into(),
            number: "1".into(),
            complement: None,
            district: "Centro".into(),
            city: "São Paulo".into(),
            uf: "SP".into(),
            postal_code: "01000-000".into(),
            time_zone: "America/Sao_Paulo".into(),
            created_at: crate::store::now(),
        };
        let user = UserRow {
            id: UserId::new(),
            email: "r@x.com".into(),
            password_hash: "x".into(),
            full_name: "Recepção".into(),
            platform_admin: false,
            created_at: crate::store::now(),
            disabled_at: None,
        };
        let mut tx = store.begin().await.expect("tx");
        store.insert_clinic(&mut tx, &clinic).await.expect("clinic");
        store.insert_user(&mut tx, &user).await.expect("user");
        store
            .add_membership(&mut tx, user.id, clinic.id, Role::Receptionist)
            .await
            .expect("membership");
        tx.commit().await.expect("commit");
        let room = store
            .ensure_chat_room(&ChatRoomRow {
                id: ChatRoomId::new(),
                clinic_id: clinic.id,
                kind: "staff".into(),
                patient_id: None,
                professional_user_id: None,
                created_at: crate::store::now(),
            })
            .await
            .expect("room");
        let settings = crate::config::Settings::load_from(None, &[]).expect("defaults");
        let bus: Arc<dyn crate::bus::EventBus> =
            Arc::new(LocalBus::new(Arc::new(Hub::new("test".into()))));
        let deps = EntityDeps {
            store: store.clone(),
            cipher,
            bus: bus.clone(),
            idle,
            chat: settings.chat,
            relay: settings.media.relay,
            media: Arc::new(crate::media::Media::new(settings.media, bus)),
            links: crate::security::links::LinkSigner::new(b"test"),
            agenda: crate::config::AgendaSettings {
                waitlist_hold_minutes: 15,
                max_bookings_per_patient_per_day: 10,
            },
            clock: Arc::new(crate::clock::SystemClock),
        };
        (dir, Registry::new(deps), store, room.id, user.id)
    }

    pub async fn idle_setup(
        idle: Duration,
    ) -> (tempfile::TempDir, Registry, Store, ChatRoomId, UserId) {
        setup_with_idle(idle).await
    }

    pub fn post(sender: UserId, body: &str) -> PostMessage {
        PostMessage {
            sender,
            sender_name: "Recepção".into(),
            client_id: uuid::Uuid::now_v7(),
            body: body.into(),
            attachment_id: None,
        }
    }

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn a_panicking_room_is_restarted_and_loses_nothing_stored() {
        let (_dir, registry, store, room, user) = setup().await;
        let first = registry
            .chat(room)
            .send(post(user, "antes"))
            .await
            .expect("mailbox")
            .expect("posted");
        assert_eq!(first.seq, 1);

        let crashed = registry.chat(room).send(Explode).await.expect("mailbox");
        assert_eq!(crashed.expect_err("panicked").code, "internal_error");

        // The next message is served (by a fresh actor) and continues the sequence.
        let mut second = None;
        for _ in 0..50 {
            match registry.chat(room).send(post(user, "depois")).await {
                Ok(r) => {
                    second = Some(r.expect("posted"));
                    break;
                }
                Err(_) => actix_web::rt::time::sleep(Duration::from_millis(10)).await,
            }
        }
        assert_eq!(second.expect("served after restart").seq, 2);
        assert_eq!(store.chat_message_count(room).await.expect("count"), 2);
    }

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn a_retried_send_is_stored_once() {
        let (_dir, registry, store, room, user) = setup().await;
        let msg = post(user, "olá");
        let again = PostMessage {
            client_id: msg.client_id,
            ..post(user, "olá")
        };
        let a = registry
            .chat(room)
            .send(msg)
            .await
            .expect("mailbox")
            .expect("posted");
        let b = registry
            .chat(room)
            .send(again)
            .await
            .expect("mailbox")
            .expect("posted");
        assert_eq!((a.seq, a.duplicate), (1, false));
        assert_eq!((b.seq, b.duplicate), (1, true));
        assert_eq!(store.chat_message_count(room).await.expect("count"), 1);
    }

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn outsiders_and_empty_messages_are_refused() {
        let (_dir, registry, _store, room, user) = setup().await;
        let err = registry
            .chat(room)
            .send(post(UserId::new(), "oi"))
            .await
            .expect("mailbox")
            .expect_err("outsider");
        assert_eq!(err.code, "forbidden");
        let err = registry
            .chat(room)
            .send(post(user, "   "))
            .await
            .expect("mailbox")
            .expect_err("empty");
        assert_eq!(err.code, "invalid_payload");
    }
}

#[cfg(test)]
mod idle_tests {
    use std::time::Duration;

    use super::tests_support::*;

    #[actix_web::rt::test(system = "crate::runtime::System")]
    async fn an_idle_room_stops_and_restarts_on_next_use() {
        let (_dir, registry, _store, room, user) = idle_setup(Duration::from_millis(200)).await;
        let first = registry
            .chat(room)
            .send(post(user, "um"))
            .await
            .expect("mailbox")
            .expect("ok");
        assert_eq!(registry.live_chats(), 1);
        actix_web::rt::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(registry.live_chats(), 0, "idle actor should have stopped");
        let second = registry
            .chat(room)
            .send(post(user, "dois"))
            .await
            .expect("mailbox")
            .expect("ok");
        assert_eq!((first.seq, second.seq), (1, 2));
    }
}

#[cfg(test)]
mod tests_support {
    pub use super::tests::{idle_setup, post};
}
