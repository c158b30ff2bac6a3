//! Is this node well: a database round trip, and whether its event bus carries events.

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    pub database_ok: bool,
    /// The event bus: `local` or `redis`.
    pub bus: &'static str,
    /// False while Redis is unreachable: this node then follows the other nodes' events
    /// through the database (slower; presence and typing do not cross nodes).
    pub bus_ok: bool,
    pub version: &'static str,
}

/// This node's health: `degraded` when the database does not answer.
pub async fn health(state: &AppState) -> HealthResponse {
    let ok = state.store.ping().await.is_ok();
    let bus_ok = !state.bus.degraded();
    HealthResponse {
        status: if ok && bus_ok { "ok" } else { "degraded" },
        database: state.store.backend(),
        database_ok: ok,
        bus: state.bus.engine(),
        bus_ok,
        version: env!("CARGO_PKG_VERSION"),
    }
}
