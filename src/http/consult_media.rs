//! A teleconsultation's server-side media over HTTP: the pre-call check (a server peer that
//! reflects the patient's camera and microphone and measures the connection), the media
//! relay (publish once, subscribe once per other participant), and inviting a third
//! participant (interpreter or family member), which moves the call onto the relay.
//! Every call answers a browser's complete SDP offer with the server's complete answer.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::extract::bearer_token;
use crate::app::consults::Credentials;
use crate::app::consults::guests::{self, GuestInvited, GuestView, InviteBody};
use crate::app::consults::media::{self, OfferBody, Published, Publishers, SdpAnswer};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consults/{id}/media", web::get().to(publishers))
        .route("/consults/{id}/media/check", web::post().to(check))
        .route("/consults/{id}/media/publish", web::post().to(publish))
        .route("/consults/{id}/media/publish", web::delete().to(unpublish))
        .route("/consults/{id}/media/subscribe", web::post().to(subscribe))
        .route("/consults/{id}/guests", web::post().to(invite))
        .route("/consults/{id}/guests", web::get().to(guests))
        .route(
            "/consults/{id}/guests/{guest_id}",
            web::delete().to(revoke_guest),
        );
}

/// A teleconsultation link instead of a login (`?token=`: the patient's or a guest's).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// A patient's entry link token, instead of a login.
    pub token: Option<String>,
}

/// The request's login or link.
pub(super) fn credentials<'a>(req: &'a HttpRequest, query: &'a LinkQuery) -> Credentials<'a> {
    Credentials {
        bearer: bearer_token(req),
        link: query.token.as_deref(),
    }
}

#[utoipa::path(post, path = "/api/consults/{id}/media/check", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    request_body = OfferBody,
    responses((status = 200, description = "The answer of a server peer that sends the camera and microphone back and reports round-trip time, loss, bitrate and a pt-BR verdict over the `check` data channel", body = SdpAnswer),
              (status = 401, description = "`invalid_token`, `too_early`", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`consult_ended`", body = ErrorBody),
              (status = 422, description = "`invalid_sdp`", body = ErrorBody),
              (status = 503, description = "`media_unavailable`", body = ErrorBody)))]
pub async fn check(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let answer = media::check(&state, credentials(&req, &query), path.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[utoipa::path(get, path = "/api/consults/{id}/media", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    responses((status = 200, description = "The publishers on this node's relay (also pushed as `consult.media`)", body = Publishers),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn publishers(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let list = media::publishers(&state, credentials(&req, &query), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(post, path = "/api/consults/{id}/media/publish", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    request_body = OfferBody,
    responses((status = 200, description = "The answer and the publication's id; publishing again replaces the caller's earlier publication", body = Published),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`relay_disabled`, `not_admitted`, `consult_ended`, `relay_not_active`", body = ErrorBody),
              (status = 422, description = "`invalid_sdp`", body = ErrorBody),
              (status = 503, description = "`media_unavailable`", body = ErrorBody)))]
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let published =
        media::publish(&state, credentials(&req, &query), path.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(published))
}

#[utoipa::path(delete, path = "/api/consults/{id}/media/publish", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    responses((status = 204, description = "The caller's publication (if any) stopped"),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unpublish(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    media::unpublish(&state, credentials(&req, &query), path.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/consults/{id}/media/subscribe", tag = "consults",
    params(("id" = String, Path, format = Uuid), LinkQuery),
    request_body = OfferBody,
    responses((status = 200, description = "The answer carrying the publisher's audio and video (stream id = publisher id)", body = SdpAnswer),
              (status = 401, body = ErrorBody),
              (status = 404, description = "Unknown consult, or that publisher left", body = ErrorBody),
              (status = 409, description = "`relay_disabled`, `not_admitted`, `consult_ended`, `relay_not_active`", body = ErrorBody),
              (status = 422, description = "`invalid_sdp`, `invalid_publisher` (missing, or one's own)", body = ErrorBody),
              (status = 503, description = "`media_unavailable`", body = ErrorBody)))]
pub async fn subscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<LinkQuery>,
    body: web::Json<OfferBody>,
) -> Result<HttpResponse, AppError> {
    let answer =
        media::subscribe(&state, credentials(&req, &query), path.into_inner(), &body).await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[utoipa::path(post, path = "/api/consults/{id}/guests", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    request_body = InviteBody,
    responses((status = 201, description = "The guest's entry link (same window as the patient's); the call moves onto the relay", body = GuestInvited),
              (status = 403, description = "Not the consultation's professional", body = ErrorBody),
              (status = 404, body = ErrorBody),
              (status = 409, description = "`relay_disabled`, `consult_ended`", body = ErrorBody),
              (status = 422, description = "`invalid_name`, `invalid_relation`", body = ErrorBody)))]
pub async fn invite(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    body: web::Json<InviteBody>,
) -> Result<HttpResponse, AppError> {
    let invited = guests::invite(
        &state,
        bearer_token(&req),
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(invited))
}

#[utoipa::path(get, path = "/api/consults/{id}/guests", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The invitations, oldest first; `link` (to copy again) is null once revoked", body = [GuestView]),
              (status = 403, description = "Not the consultation's professional", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn guests(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let list = guests::list(&state, bearer_token(&req), path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(delete, path = "/api/consults/{id}/guests/{guest_id}", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid), ("guest_id" = String, Path, format = Uuid)),
    responses((status = 204, description = "The invitation is revoked (again: nothing more happens): the guest's link answers `link_revoked`, their connections close and their media leaves the relay"),
              (status = 403, description = "Not the consultation's professional", body = ErrorBody),
              (status = 404, description = "Unknown consult, or no such guest of it", body = ErrorBody)))]
pub async fn revoke_guest(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, guest_id) = path.into_inner();
    guests::revoke(&state, bearer_token(&req), id, guest_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
