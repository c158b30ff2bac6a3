//! The caller's own account over HTTP: who they are, where they work, their LGPD consents.

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::me::{self, AcceptConsentRequest, ConsentView, MeResponse};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/me/consents", web::get().to(consents))
        .route("/me/consents", web::post().to(accept_consent))
        .route("/me/consents/withdraw", web::post().to(withdraw_consent));
}

#[utoipa::path(get, path = "/api/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ErrorBody)))]
pub async fn me(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(me::load_me(&state, auth.user_id).await?))
}

#[utoipa::path(get, path = "/api/me/consents", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Consent history, newest first", body = [ConsentView])))]
pub async fn consents(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(me::consent_list(&state, auth.user_id).await?))
}

#[utoipa::path(post, path = "/api/me/consents/withdraw", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "Every active consent withdrawn; the history", body = [ConsentView])))]
pub async fn withdraw_consent(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(me::withdraw_consent(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/consents", tag = "me", security(("bearer" = [])),
    request_body = AcceptConsentRequest,
    responses((status = 200, description = "Consent to the current terms recorded", body = [ConsentView]),
              (status = 422, description = "`terms_not_accepted`: not the current version", body = ErrorBody)))]
pub async fn accept_consent(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<AcceptConsentRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(me::accept_consent(&state, &auth, &body).await?))
}
