//! The WebSocket edge: one connection per client, one session actor per connection,
//! carrying many topics (see docs/protocol.md). The session handles frames, heartbeats,
//! authentication and subscriptions; each kind of topic's rules live in `channels`.

pub mod channels;
pub mod presence;
pub mod rate;
pub mod session;
pub mod subscriptions;
pub mod writer;
