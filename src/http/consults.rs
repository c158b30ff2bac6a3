//! Teleconsultations over HTTP: the session's state and the patient's entry link, the ICE
//! servers (STUN, and TURN with short-lived coturn REST credentials), and the public preview
//! a patient's link page shows before connecting. Everything live (waiting room, admission,
//! signaling) happens on the WebSocket topic `consult:<appointment id>`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use super::extract::{Auth, authenticate, bearer_token};
use crate::actors::consult::{Side, open_appointment, participant_key, state_json};
use crate::actors::protocol::WsError;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::agenda::AppointmentView;
use crate::store::consults::{ConsultGuestRow, ConsultRow};

/// Link purpose of a patient's teleconsultation entry.
pub const CONSULT_LINK: &str = "consult-join";
/// Link purpose of an invited third participant's entry (it names the guest).
pub const CONSULT_GUEST_LINK: &str = "consult-guest";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/consults/{id}", web::get().to(get_consult))
        .route("/consults/{id}/ice", web::get().to(ice))
        .route(
            "/consults/{id}/media",
            web::get().to(super::consult_media::publishers),
        )
        .route(
            "/consults/{id}/media/check",
            web::post().to(super::consult_media::check),
        )
        .route(
            "/consults/{id}/media/publish",
            web::post().to(super::consult_media::publish),
        )
        .route(
            "/consults/{id}/media/publish",
            web::delete().to(super::consult_media::unpublish),
        )
        .route(
            "/consults/{id}/media/subscribe",
            web::post().to(super::consult_media::subscribe),
        )
        .route(
            "/consults/{id}/guests",
            web::post().to(super::consult_media::invite),
        )
        .route(
            "/consults/{id}/guests",
            web::get().to(super::consult_media::guests),
        )
        .route(
            "/consults/{id}/guests/{guest_id}",
            web::delete().to(super::consult_media::revoke_guest),
        )
        .route("/public/consults/{token}", web::get().to(public_preview));
}

/// The patient's entry link (a path of the web app). It names the appointment, not a time:
/// the window is the appointment's own (it follows a reschedule).
pub fn patient_link(state: &AppState, appointment: uuid::Uuid) -> String {
    format!(
        "/#/consulta/{}",
        state.links.sign(CONSULT_LINK, appointment, None)
    )
}

fn invalid_link() -> WsError {
    WsError::new("invalid_token", "link inválido ou expirado")
}

/// A guest link whose invitation the professional took back.
fn revoked_link() -> WsError {
    WsError::new(
        "link_revoked",
        "o profissional cancelou este convite para a consulta",
    )
}

/// An invited third participant's entry link.
pub fn guest_link(state: &AppState, guest: uuid::Uuid) -> String {
    format!(
        "/#/consulta/{}",
        state.links.sign(CONSULT_GUEST_LINK, guest, None)
    )
}

/// Who a teleconsultation link lets in.
#[derive(Debug, Clone)]
pub struct LinkEntry {
    pub appointment: uuid::Uuid,
    /// The patient's first name, or the invited guest's name.
    pub name: String,
    /// The invited guest; `None` for the patient's own link.
    pub guest: Option<uuid::Uuid>,
}

/// A guest's invitation as it stands now: `invalid_token` if there is none, `link_revoked`
/// once the professional took it back. Read at every use of a guest link (HTTP, WebSocket
/// `auth` and `join`).
pub(crate) async fn current_invitation(
    state: &AppState,
    guest: uuid::Uuid,
) -> Result<ConsultGuestRow, WsError> {
    let row = state
        .store
        .consult_guest(guest)
        .await?
        .ok_or_else(invalid_link)?;
    if row.revoked_at.is_some() {
        return Err(revoked_link());
    }
    Ok(row)
}

/// Read a patient's or a guest's link (signature and, for a guest, that the invitation
/// exists and was not revoked), without checking the time window.
async fn read_link(
    state: &AppState,
    token: &str,
) -> Result<(AppointmentView, Option<ConsultGuestRow>), WsError> {
    let now = Utc::now().timestamp();
    let (appointment, guest) = match state.links.verify(CONSULT_LINK, token, now) {
        Ok((appointment, _)) => (appointment, None),
        Err(_) => {
            let (id, _) = state
                .links
                .verify(CONSULT_GUEST_LINK, token, now)
                .map_err(|_| invalid_link())?;
            let guest = current_invitation(state, id).await?;
            (guest.appointment_id, Some(guest))
        }
    };
    let view = open_appointment(&state.store, appointment)
        .await
        .map_err(|_| invalid_link())?;
    Ok((view, guest))
}

/// The entry a link opens, if it may be used now: from `consult.link_lead_minutes` before
/// the start until the end — or later while the call is still going (a page that reloads
/// gets back in).
pub async fn guest_entry(state: &AppState, token: &str) -> Result<LinkEntry, WsError> {
    Ok(link_entry(state, token).await?.1)
}

/// [`guest_entry`], with the appointment it read.
async fn link_entry(
    state: &AppState,
    token: &str,
) -> Result<(AppointmentView, LinkEntry), WsError> {
    let (view, guest) = read_link(state, token).await?;
    check_window(state, &view).await?;
    let name = match &guest {
        Some(g) => g.name.clone(),
        None => view
            .patient_social_name
            .as_deref()
            .unwrap_or(&view.patient_name)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let entry = LinkEntry {
        appointment: view.a.id,
        name,
        guest: guest.map(|g| g.id),
    };
    Ok((view, entry))
}

async fn check_window(state: &AppState, view: &AppointmentView) -> Result<(), WsError> {
    let now = Utc::now();
    let opens =
        view.a.starts_at - Duration::minutes(i64::from(state.settings.consult.link_lead_minutes));
    if view.a.status == "cancelled" {
        return Err(WsError::new(
            "consult_cancelled",
            "esta consulta foi cancelada",
        ));
    }
    if now < opens {
        return Err(WsError::new(
            "too_early",
            format!(
                "a sala de espera abre {} minutos antes do horário da consulta",
                state.settings.consult.link_lead_minutes
            ),
        ));
    }
    if now > view.a.ends_at && session_of(state, view).await?.status != "in_call" {
        return Err(invalid_link());
    }
    Ok(())
}

/// The appointment's session as stored, or `scheduled` if nobody entered it yet (reading
/// never stores anything).
pub(super) async fn session_of(
    state: &AppState,
    view: &AppointmentView,
) -> Result<ConsultRow, StoreError> {
    Ok(state
        .store
        .consult_session(view.a.id)
        .await?
        .unwrap_or_else(|| ConsultRow::not_entered(view.a.id, view.a.clinic_id)))
}

pub(super) fn ws_to_app(e: WsError) -> AppError {
    match e.code {
        "not_found" => AppError::NotFound,
        "invalid_token" | "too_early" | "consult_cancelled" | "link_revoked" => {
            AppError::unauthorized(e.code, e.message)
        }
        _ => AppError::Unexpected(anyhow::anyhow!("{}: {}", e.code, e.message)),
    }
}

/// Who the caller is in this teleconsultation.
#[derive(PartialEq)]
pub(super) enum Party {
    Professional,
    Patient,
    Staff,
}

pub(super) fn party(auth: &Auth, view: &AppointmentView) -> Result<Party, AppError> {
    if view.a.professional_user_id == auth.user_id {
        Ok(Party::Professional)
    } else if auth.patient_id == Some(view.a.patient_id) {
        Ok(Party::Patient)
    } else if auth.is_staff_of(view.a.clinic_id) {
        Ok(Party::Staff)
    } else {
        Err(AppError::NotFound)
    }
}

#[utoipa::path(get, path = "/api/consults/{id}", tag = "consults", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid, description = "The teleconsultation appointment")),
    responses((status = 200, description = "The session (status `scheduled`, `waiting`, `in_call`, `ended`; times; participants) and the patient's entry link", body = Object),
              (status = 404, description = "Unknown, not a teleconsultation, or not the caller's", body = ErrorBody)))]
pub async fn get_consult(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = open_appointment(&state.store, id)
        .await
        .map_err(ws_to_app)?;
    party(&auth, &view)?;
    let row = session_of(&state, &view).await?;
    let mut out = state_json(&view, &row, state.settings.media.relay);
    out["patient_link"] = json!(patient_link(&state, id));
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct IceQuery {
    /// A patient's entry link token, instead of a login.
    pub token: Option<String>,
}

#[utoipa::path(get, path = "/api/consults/{id}/ice", tag = "consults",
    params(("id" = String, Path, format = Uuid), IceQuery),
    responses((status = 200, description = "`{\"ice_servers\": [RTCIceServer…], \"expires_at\"}`: STUN, and TURN with credentials valid for `consult.turn_credential_ttl_secs` (ask again at every ICE restart)", body = Object),
              (status = 401, description = "`invalid_token`, `too_early`", body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn ice(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<uuid::Uuid>,
    query: web::Query<IceQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let who = caller(&state, &req, id, query.token.as_deref())
        .await?
        .1
        .turn_user(id);
    let cfg = &state.settings.consult;
    let mut servers = Vec::new();
    if !cfg.stun_urls.is_empty() {
        servers.push(json!({"urls": cfg.stun_urls}));
    }
    let ttl = cfg.turn_credential_ttl_secs as i64;
    let now = Utc::now().timestamp();
    let mut expires_at = now + ttl;
    if !cfg.turn_urls.is_empty() {
        let c = crate::media::turn::credential(cfg.turn_secret.expose().as_bytes(), &who, now, ttl)
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("turn: {e}")))?;
        expires_at = c.expires_at;
        servers.push(
            json!({"urls": cfg.turn_urls, "username": c.username, "credential": c.credential}),
        );
    }
    Ok(HttpResponse::Ok().json(json!({"ice_servers": servers, "expires_at": expires_at})))
}

#[utoipa::path(get, path = "/api/public/consults/{token}", tag = "consults",
    params(("token" = String, Path, description = "The patient's entry link token")),
    responses((status = 200, description = "What the link page shows before connecting: appointment id, times, professional, clinic, the patient's first name, status, when the room opens", body = Object),
              (status = 401, description = "`invalid_token` (tampered, or the consultation is over), `consult_cancelled`", body = ErrorBody)))]
pub async fn public_preview(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (view, guest) = read_link(&state, &path).await.map_err(ws_to_app)?;
    let row = session_of(&state, &view).await?;
    // Too early is fine here: the page shows when the room opens.
    match check_window(&state, &view).await {
        Ok(())
        | Err(WsError {
            code: "too_early", ..
        }) => {}
        // After the end, a finished session still says so (rather than "invalid link").
        Err(WsError {
            code: "invalid_token",
            ..
        }) if row.status == "ended" => {}
        Err(e) => return Err(ws_to_app(e)),
    }
    let mut out = state_json(&view, &row, state.settings.media.relay);
    out["as"] = json!(if guest.is_some() { "guest" } else { "patient" });
    out["guest_name"] = json!(guest.map(|g| g.name));
    out["opens_at"] = json!(
        view.a.starts_at - Duration::minutes(i64::from(state.settings.consult.link_lead_minutes))
    );
    out["time_zone"] = json!(view.clinic_time_zone);
    // A guest sees no one's full name but the professional's.
    out["participants"] = json!([]);
    Ok(HttpResponse::Ok().json(out))
}

/// A participant of a teleconsultation, however they came in (a login or a link).
pub(super) struct Caller {
    pub side: Side,
    pub name: String,
    /// The account, when there is one.
    pub user: Option<crate::domain::UserId>,
    /// The invited guest, for a guest's link.
    pub guest: Option<uuid::Uuid>,
}

impl Caller {
    /// The relay's publication key: `professional`, `patient` or `guest:<id>`.
    pub fn key(&self) -> String {
        participant_key(self.side, self.guest)
    }

    /// The user part of the TURN username: the account, or the link's (short) id.
    fn turn_user(&self, consult: uuid::Uuid) -> String {
        let short = |u: uuid::Uuid| u.simple().to_string()[..12].to_string();
        match (self.user, self.guest) {
            (Some(u), _) => u.to_string(),
            (None, Some(g)) => format!("guest-{}", short(g)),
            (None, None) => format!("patient-{}", short(consult)),
        }
    }
}

/// The appointment and who is asking: a bearer token (its professional or patient; staff
/// and others get 404) or a link token (`?token=`, the patient's or an invited guest's).
pub(super) async fn caller(
    state: &AppState,
    req: &HttpRequest,
    id: uuid::Uuid,
    link: Option<&str>,
) -> Result<(AppointmentView, Caller), AppError> {
    if let Some(token) = link {
        let (view, entry) = link_entry(state, token).await.map_err(ws_to_app)?;
        if entry.appointment != id {
            return Err(AppError::NotFound);
        }
        let side = if entry.guest.is_some() {
            Side::Guest
        } else {
            Side::Patient
        };
        let caller = Caller {
            side,
            name: entry.name,
            user: None,
            guest: entry.guest,
        };
        return Ok((view, caller));
    }
    let token = bearer_token(req).ok_or_else(|| {
        AppError::unauthorized("unauthenticated", "faça login ou use o link da consulta")
    })?;
    let auth = authenticate(state, token, None).await?;
    let view = open_appointment(&state.store, id)
        .await
        .map_err(ws_to_app)?;
    let side = match party(&auth, &view)? {
        Party::Professional => Side::Professional,
        Party::Patient => Side::Patient,
        Party::Staff => return Err(AppError::NotFound),
    };
    let name = match side {
        Side::Professional => view.professional_name.clone(),
        _ => view
            .patient_social_name
            .clone()
            .unwrap_or_else(|| view.patient_name.clone()),
    };
    Ok((
        view,
        Caller {
            side,
            name,
            user: Some(auth.user_id),
            guest: None,
        },
    ))
}
