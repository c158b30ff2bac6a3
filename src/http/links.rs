//! One-click links over HTTP: an appointment's confirm and cancel links and a waitlist
//! offer's accept and decline links, usable without logging in. The web page
//! `/#/link/<action>/<token>` first previews what the link does, then uses it.

use actix_web::{HttpResponse, web};

use crate::app::error::{AppError, ErrorBody};
use crate::app::links::{self, LinkPreview, LinkRequest, LinkUsed};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/public/links/preview", web::post().to(preview))
        .route("/public/links/use", web::post().to(use_link));
}

#[utoipa::path(post, path = "/api/public/links/preview", operation_id = "preview_link", tag = "agenda", request_body = LinkRequest,
    responses((status = 200, description = "What the link would do, the appointment it names and whether it was already used", body = LinkPreview),
              (status = 401, description = "`invalid_token` (tampered, wrong action), `link_expired`", body = ErrorBody)))]
pub async fn preview(
    state: web::Data<AppState>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(links::preview_link(&state, body.into_inner()).await?))
}

#[utoipa::path(post, path = "/api/public/links/use", tag = "agenda", request_body = LinkRequest,
    responses((status = 200, description = "Done: the appointment as it is now (`confirmed` or `cancelled`); the clinic's agenda sees it live", body = LinkUsed),
              (status = 401, description = "`invalid_token`, `link_expired`", body = ErrorBody),
              (status = 409, description = "`link_used` (single use), `invalid_transition` (e.g. confirming a cancelled appointment)", body = ErrorBody)))]
pub async fn use_link(
    state: web::Data<AppState>,
    body: web::Json<LinkRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(links::use_link(&state, body.into_inner()).await?))
}
