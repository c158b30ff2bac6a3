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

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
