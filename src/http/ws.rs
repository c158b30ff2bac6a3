//! `GET /ws`: the one WebSocket per client, and `POST /api/ws/ticket` to authenticate it.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::extract::client_ip;
use crate::app::Auth;
use crate::app::auth::{TicketResponse, issue_ws_ticket, redeem_ws_ticket};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::ws::session::WsSession;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    #[serde(default)]
    pub ticket: Option<String>,
}

#[utoipa::path(post, path = "/api/ws/ticket", tag = "realtime", security(("bearer" = [])),
    responses((status = 200, description = "A short-lived, single-use ticket for opening the WebSocket", body = TicketResponse),
              (status = 401, body = ErrorBody)))]
pub async fn ticket(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(issue_ws_ticket(&state, &auth).await?))
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
            let auth = redeem_ws_ticket(&state, t, ip.clone()).await?;
            Some((auth.user_id, auth.session_id, auth.full_name))
        }
    };
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    WsSession::start(state.clone(), ip, user, session, stream);
    Ok(response)
}
