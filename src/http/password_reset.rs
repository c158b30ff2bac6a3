//! "Esqueci minha senha" over HTTP: ask for a reset link by e-mail, then set a new
//! password with it. Public routes (the caller is not logged in).

use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::client_ip;
use crate::app::auth::SessionsEnded;
use crate::app::error::{AppError, ErrorBody};
use crate::app::password_reset::{self, ResetConfirm, ResetRequest};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/password-reset", web::post().to(request))
        .route("/auth/password-reset/confirm", web::post().to(confirm));
}

#[utoipa::path(post, path = "/api/auth/password-reset", operation_id = "request_password_reset", tag = "auth", request_body = ResetRequest,
    responses(
        (status = 202, description = "Always the same answer: if an account has this address, a reset link (30 minutes, single use) is on its way by e-mail"),
        (status = 422, description = "`invalid_email`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts` from this address, with Retry-After", body = ErrorBody),
    ))]
pub async fn request(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetRequest>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    password_reset::request_reset(&state, ip, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().finish())
}

#[utoipa::path(post, path = "/api/auth/password-reset/confirm", operation_id = "confirm_password_reset", tag = "auth", request_body = ResetConfirm,
    responses(
        (status = 200, description = "Password set; every session of the account ended (its live connections close)", body = SessionsEnded),
        (status = 400, description = "`invalid_reset_token`: unknown, expired or already used", body = ErrorBody),
        (status = 422, description = "`weak_password` (the sign-up rules)", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: too many invalid tokens from this address", body = ErrorBody),
    ))]
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<ResetConfirm>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let ended = password_reset::confirm_reset(&state, ip, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ended))
}
