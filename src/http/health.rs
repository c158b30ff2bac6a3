//! Liveness with a database round trip, and Prometheus metrics.

use crate::app::health::{self, HealthResponse};
use crate::app::state::AppState;
use actix_web::{HttpResponse, web};

#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = HealthResponse), (status = 503, description = "Database unreachable", body = HealthResponse)))]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let body = health::health(&state).await;
    if body.database_ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Readiness: 200 while this node should get traffic; 503 when the database does not
/// answer or the node is draining (SIGTERM received).
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses((status = 200, body = HealthResponse), (status = 503, description = "Database unreachable or the node is stopping", body = HealthResponse)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let body = health::health(&state).await;
    if body.database_ok && !body.draining {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Liveness: 200 whenever the process answers HTTP at all (no database round trip, so a
/// database outage does not get every node restarted).
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process serves HTTP", content_type = "text/plain")))]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    health::refresh_gauges(&state).await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
