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
    /// True once this node received SIGTERM and is closing its connections.
    pub draining: bool,
}

/// How far ahead `/metrics` counts a professional's signing certificate as expiring.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// Gauges read when Prometheus scrapes: the database pool's use, the age of the oldest
/// document waiting for its signature (0 when none waits), and the professionals' signing
/// certificates that expired or expire soon (by the app's clock).
pub async fn refresh_gauges(state: &AppState) {
    let (open, idle) = state.store.pool_usage();
    let in_use = (open as usize).saturating_sub(idle);
    metrics::gauge!("atende_db_pool_in_use").set(in_use as f64);
    metrics::gauge!("atende_db_pool_max").set(f64::from(state.settings.database.max_connections));
    match state.store.oldest_pending_document().await {
        Ok(oldest) => {
            let age = oldest.map_or(0.0, |at| {
                (state.clock.now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics::gauge!("atende_signing_oldest_pending_seconds").set(age);
        }
        Err(e) => tracing::warn!(error = %e, "reading the signing backlog for /metrics failed"),
    }
    let now = state.clock.now();
    let horizon = now + chrono::Duration::days(CERTIFICATE_WARNING_DAYS);
    // By source: an installation-CA certificate renews itself at its next use, so only
    // `imported` ones need someone to act.
    for source in ["installation_ca", "imported"] {
        match state.store.certificate_expiry(source, now, horizon).await {
            Ok(c) => {
                metrics::gauge!("atende_signing_certificates_expired", "source" => source)
                    .set(c.expired as f64);
                metrics::gauge!("atende_signing_certificates_expiring", "source" => source)
                    .set(c.expiring as f64);
                metrics::gauge!(
                    "atende_signing_certificate_next_expiry_timestamp_seconds",
                    "source" => source
                )
                .set(c.next_expiry.map_or(0.0, |t| t.timestamp() as f64));
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading certificate expiries for /metrics failed")
            }
        }
    }
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
        draining: state.draining.load(std::sync::atomic::Ordering::SeqCst),
    }
}
