//! Who is asking, read from the request: the bearer token resolved to the caller
//! ([`crate::app::caller`]) and the client's address.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::app::caller::{Auth, authenticate};
use crate::app::error::AppError;
use crate::app::state::AppState;

/// The client's address: the socket peer, or — behind a trusted reverse proxy — the last
/// address in `X-Forwarded-For`, the one the proxy itself appended. (Earlier entries are
/// whatever the client sent and cannot be trusted.)
pub fn client_ip(req: &HttpRequest, trust_proxy: bool) -> Option<String> {
    let peer = req.peer_addr().map(|a| a.ip().to_string());
    if !trust_proxy {
        return peer;
    }
    req.headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
        .and_then(|v| v.parse::<std::net::IpAddr>().ok())
        .map(|ip| ip.to_string())
        .or(peer)
}

pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// Routes a session limited to enrolling a second factor may use: who am I, the
/// enrolment itself (an authenticator or a passkey), and logging out everywhere.
fn enrolment_route(req: &HttpRequest) -> bool {
    let path = req.path();
    path == "/api/me"
        || path == "/api/me/mfa"
        || path.starts_with("/api/me/mfa/")
        || path == "/api/me/passkeys"
        || path.starts_with("/api/me/passkeys/")
        || path == "/api/auth/logout-all"
}

impl FromRequest for Auth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("AppState missing")))?
                .clone();
            let token = bearer_token(&req).ok_or_else(|| {
                AppError::unauthorized("unauthenticated", "faça login para continuar")
            })?;
            let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
            let auth = authenticate(&state, token, ip).await?;
            if !enrolment_route(&req) {
                auth.require_full_session()?;
            }
            Ok(auth)
        })
    }
}
