//! A professional's secret calendar address and the feed it serves.

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::agenda::ical::{self, IcalFeed, IcalStatus};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;

#[utoipa::path(get, path = "/api/me/ical", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "Whether the caller has a calendar address now (its secret is shown only when made)", body = IcalStatus),
              (status = 403, description = "Professionals only", body = ErrorBody)))]
pub async fn ical_status(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(ical::ical_status(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/me/ical", tag = "agenda", security(("bearer" = [])),
    responses((status = 200, description = "A new secret calendar address (`/ical/<token>.ics`) for the calling professional's agenda in every clinic; the previous address stops working", body = IcalFeed),
              (status = 403, description = "Professionals only", body = ErrorBody)))]
pub async fn create_ical(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(ical::create_ical(&state, &auth).await?))
}

#[utoipa::path(delete, path = "/api/me/ical", tag = "agenda", security(("bearer" = [])),
    responses((status = 204, description = "The calendar address is revoked")))]
pub async fn delete_ical(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    ical::delete_ical(&state, &auth).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/ical/{token}", tag = "agenda",
    params(("token" = String, Path, description = "The secret from POST /api/me/ical, with or without `.ics`")),
    responses((status = 200, description = "text/calendar: the professional's appointments from 30 days ago to 180 days ahead, every clinic; patients appear by first name and initial"),
              (status = 404, body = ErrorBody)))]
pub async fn ical_feed(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let calendar = ical::ical_calendar(&state, &path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header(("Cache-Control", "private, max-age=300"))
        .body(calendar))
}
