//! `GET /ws`: the one WebSocket per client, and `POST /api/ws/ticket` to authenticate it.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::client_ip;
use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::security::tokens::{random_token, token_hash};
use crate::store;
use crate::ws::session::WsSession;

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    /// Pass as `GET /ws?ticket=…`. Single use.
    pub ticket: String,
    /// Seconds until the ticket expires.
    pub expires_in: u64,
}

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    #[serde(default)]
    pub ticket: Option<String>,
}

#[utoipa::path(post, path = "/api/ws/ticket", tag = "realtime", security(("bearer" = [])),
    responses((status = 200, description = "A short-lived, single-use ticket for opening the WebSocket", body = TicketResponse),
              (status = 401, body = ErrorBody)))]
pub async fn ticket(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let ticket = random_token();
    let ttl = state.settings.realtime.ticket_ttl_secs;
    state
        .store
        .insert_ws_ticket(
            &token_hash(&ticket),
            auth.user_id,
            auth.session_id,
            store::now() + Duration::seconds(ttl as i64),
        )
        .await?;
    Ok(HttpResponse::Ok().json(TicketResponse {
        ticket,
        expires_in: ttl,
    }))
}

/// Upgrade to a WebSocket. With a valid `ticket` the connection starts authenticated;
/// without one the first frame must be `{"topic":"system","event":"auth","payload":{"token":…}}`.
/// A bad ticket is refused with 401 before the upgrade.
#[utoipa::path(get, path = "/ws", tag = "realtime",
    params(("ticket" = Option<String>, Query, description = "From POST /api/ws/ticket")),
    responses((status = 101, description = "Switching to the WebSocket protocol (see docs/protocol.md)"),
              (status = 401, description = "`invalid_ticket`", body = ErrorBody)))]
pub async fn connect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
    query: web::Query<WsQuery>,
) -> Result<HttpResponse, actix_web::Error> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let user = match query.ticket.as_deref() {
        None => None,
        Some(t) => {
            let (user_id, session_id) = state
                .store
                .consume_ws_ticket(&token_hash(t))
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| {
                    AppError::unauthorized("invalid_ticket", "ticket inválido ou expirado")
                })?;
            let auth =
                crate::app::caller::load_auth(&state, user_id, session_id, ip.clone()).await?;
            Some((auth.user_id, auth.session_id, auth.full_name))
        }
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    WsSession::start(state.clone(), ip, user, session, stream);
    Ok(response)
}
