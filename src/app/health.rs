//! Is this node well: a database round trip.

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
    pub version: &'static str,
}

/// This node's health: `degraded` when the database does not answer.
pub async fn health(state: &AppState) -> HealthResponse {
    let ok = state.store.ping().await.is_ok();
    HealthResponse {
        status: if ok { "ok" } else { "degraded" },
        database: state.store.backend(),
        database_ok: ok,
        version: env!("CARGO_PKG_VERSION"),
    }
}
