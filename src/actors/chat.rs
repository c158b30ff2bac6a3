//! `ChatRoom`: one actor per room. Persists each message with the room topic's next seq
//! (body encrypted) before acknowledging it, then publishes it. A retried send with the
//! same client-generated id returns the stored message instead of duplicating it.

use std::time::{Duration, Instant};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::protocol::{Topic, WsError};
use super::{EntityDeps, catch_panic, persist_event};
use crate::domain::{ChatRoomId, UserId};
use crate::store::chat::{ChatRoomRow, NewChatMessage};
use crate::store::{self, Store, StoreError};

/// Longest message body, in characters.
pub const MAX_BODY_CHARS: usize = 4000;

pub struct ChatRoom {
    id: ChatRoomId,
    deps: EntityDeps,
    /// Loaded from the database on first use (and again after a restart).
    room: Option<ChatRoomRow>,
    last_active: Instant,
}

impl ChatRoom {
    pub fn new(id: ChatRoomId, deps: EntityDeps) -> Self {
        Self {
            id,
            deps,
            room: None,
            last_active: Instant::now(),
        }
    }
}

impl Actor for ChatRoom {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let idle = self.deps.idle;
        ctx.run_interval(
            idle.min(Duration::from_secs(60))
                .max(Duration::from_millis(100)),
            move |act, ctx| {
                if act.last_active.elapsed() >= idle {
                    ctx.stop();
                }
            },
        );
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub seq: i64,
    pub id: uuid::Uuid,
    pub created_at: DateTime<Utc>,
    /// True when this id had already been stored (a retried send).
    pub duplicate: bool,
}

/// Whether `user` belongs to `room`: the patient or the professional of a patient room;
/// any staff member of the clinic for its staff room.
pub async fn is_member(store: &Store, room: &ChatRoomRow, user: UserId) -> Result<bool, WsError> {
    if room.kind == "staff" {
        let roles = store.memberships_of(user).await?;
        return Ok(roles.iter().any(|m| m.clinic_id == room.clinic_id));
    }
    if room.professional_user_id == Some(user) {
        return Ok(true);
    }
    match room.patient_id {
        Some(pid) => Ok(store
            .patient_by_user(user)
            .await?
            .is_some_and(|p| p.id == pid)),
        None => Ok(false),
    }
}

impl Handler<PostMessage> for ChatRoom {
    type Result = AtomicResponse<Self, Result<Posted, WsError>>;

    fn handle(&mut self, msg: PostMessage, _ctx: &mut Self::Context) -> Self::Result {
        self.last_active = Instant::now();
        let deps = self.deps.clone();
        let id = self.id;
        let cached = self.room.clone();
        let work = async move {
            let body = msg.body.trim().to_string();
            if body.is_empty() || body.chars().count() > MAX_BODY_CHARS {
                return Err(WsError::new(
                    "invalid_payload",
                    format!("a mensagem deve ter de 1 a {MAX_BODY_CHARS} caracteres"),
                ));
            }
            let room = match cached {
                Some(r) => r,
                None => deps
                    .store
                    .chat_room(id)
                    .await?
                    .ok_or_else(|| WsError::new("not_found", "conversa não encontrada"))?,
            };
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
                return Ok((
                    room,
                    Posted {
                        seq,
                        id: msg.client_id,
                        created_at,
                        duplicate: true,
                    },
                    None,
                ));
            }
            let now = store::now();
            let payload = json!({
                "id": msg.client_id,
                "room_id": id,
                "sender": {"user_id": msg.sender, "name": msg.sender_name},
                "body": body,
                "created_at": now,
            });
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
                        return Ok((
                            room,
                            Posted {
                                seq,
                                id: msg.client_id,
                                created_at,
                                duplicate: true,
                            },
                            None,
                        ));
                    }
                }
                return Err(WsError::internal());
            }
            tx.commit().await?;
            Ok((
                room,
                Posted {
                    seq,
                    id: msg.client_id,
                    created_at: now,
                    duplicate: false,
                },
                Some(event),
            ))
        };
        let bus = self.deps.bus.clone();
        AtomicResponse::new(Box::pin(catch_panic(work).into_actor(self).map(
            move |(result, panicked), act, ctx| {
                if panicked {
                    act.room = None;
                    ctx.stop();
                }
                result.map(|(room, posted, event)| {
                    act.room = Some(room);
                    if let Some(ev) = event {
                        bus.publish(ev);
                    }
                    posted
                })
            },
        )))
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
        let work = async { panic!("injected fault") };
        AtomicResponse::new(Box::pin(catch_panic::<()>(work).into_actor(self).map(
            |(result, panicked), act, ctx| {
                if panicked {
                    act.room = None;
                    ctx.stop();
                }
                result
            },
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::actors::hub::Hub;
    use crate::actors::registry::Registry;
    use crate::bus::LocalBus;
    use crate::domain::{ChatRoomId, ClinicId, Role, UserId};
    use crate::security::crypto::FieldCipher;
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
        let store = Store::connect(&url, 2).await.expect("connect");
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
            created_at: store::now(),
        };
        let user = UserRow {
            id: UserId::new(),
            email: "r@x.com".into(),
            password_hash: "x".into(),
            full_name: "Recepção".into(),
            platform_admin: false,
            created_at: store::now(),
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
                created_at: store::now(),
            })
            .await
            .expect("room");
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string();
        let cipher =
            FieldCipher::new("k", &BTreeMap::from([("k".to_string(), key)])).expect("cipher");
        let deps = EntityDeps {
            store: store.clone(),
            cipher,
            bus: Arc::new(LocalBus::new(Arc::new(Hub::new("test".into())))),
            idle,
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
        }
    }

    #[actix_web::test]
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

    #[actix_web::test]
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

    #[actix_web::test]
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

    #[actix_web::test]
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
