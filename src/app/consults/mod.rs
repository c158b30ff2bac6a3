//! Teleconsultation use cases. Here: the patient's and the guests' entry links (who a link
//! lets in, and when), who is asking, and the session as stored. Beside it: the session's
//! state, ICE servers and public preview ([`session`]), what happens live on the
//! `consult:<id>` topic ([`live`]), the server's media — pre-call check and relay —
//! ([`media`]), and the invited guests ([`guests`]).

pub mod guests;
pub mod live;
pub mod media;
pub mod session;

use chrono::Duration;

use crate::actors::consult::open_appointment;
use crate::actors::protocol::WsError;
use crate::app::caller::{Auth, authenticate};
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::consult::{ConsultStatus, Side, participant_key};
use crate::store::StoreError;
use crate::store::agenda::AppointmentView;
use crate::store::consults::{ConsultGuestRow, ConsultRow};

/// Link purpose of a patient's teleconsultation entry.
pub const CONSULT_LINK: &str = "consult-join";
/// Link purpose of an invited third participant's entry (it names the guest).
pub const CONSULT_GUEST_LINK: &str = "consult-guest";

/// The patient's entry link (a path of the web app). It names the appointment, not a time:
/// the window is the appointment's own (it follows a reschedule).
pub fn patient_link(state: &AppState, appointment: uuid::Uuid) -> String {
    format!(
        "/#/consulta/{}",
        state.links.sign(CONSULT_LINK, appointment, None)
    )
}

fn invalid_link() -> WsError {
    WsError::unauthorized("invalid_token", "link inválido ou expirado")
}

/// A guest link whose invitation the professional took back.
fn revoked_link() -> WsError {
    WsError::unauthorized(
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
pub async fn current_invitation(
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
pub async fn read_link(
    state: &AppState,
    token: &str,
) -> Result<(AppointmentView, Option<ConsultGuestRow>), WsError> {
    let now = state.clock.now().timestamp();
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
pub async fn link_entry(
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

pub async fn check_window(state: &AppState, view: &AppointmentView) -> Result<(), WsError> {
    let now = state.clock.now();
    let opens =
        view.a.starts_at - Duration::minutes(i64::from(state.settings.consult.link_lead_minutes));
    if view.a.status == AppointmentStatus::Cancelled {
        return Err(WsError::unauthorized(
            "consult_cancelled",
            "esta consulta foi cancelada",
        ));
    }
    if now < opens {
        return Err(WsError::unauthorized(
            "too_early",
            format!(
                "a sala de espera abre {} minutos antes do horário da consulta",
                state.settings.consult.link_lead_minutes
            ),
        ));
    }
    if now > view.a.ends_at && session_of(state, view).await?.status != ConsultStatus::InCall {
        return Err(invalid_link());
    }
    Ok(())
}

/// The appointment's session as stored, or `scheduled` if nobody entered it yet (reading
/// never stores anything).
pub async fn session_of(
    state: &AppState,
    view: &AppointmentView,
) -> Result<ConsultRow, StoreError> {
    Ok(state
        .store
        .consult_session(view.a.id)
        .await?
        .unwrap_or_else(|| ConsultRow::not_entered(view.a.id, view.a.clinic_id)))
}

/// Who the caller is in this teleconsultation.
#[derive(PartialEq)]
pub enum Party {
    Professional,
    Patient,
    Staff,
}

pub fn party(auth: &Auth, view: &AppointmentView) -> Result<Party, AppError> {
    if view.a.professional_user_id == auth.user_id {
        Ok(Party::Professional)
    } else if auth.owns_patient(view.a.patient_id) {
        Ok(Party::Patient)
    } else if auth.is_staff_of(view.a.clinic_id) {
        Ok(Party::Staff)
    } else {
        Err(AppError::NotFound)
    }
}

/// Who is asking, as a request names them: a login's access token, or a teleconsultation
/// link (`?token=`, the patient's or an invited guest's).
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub bearer: Option<&'a str>,
    pub link: Option<&'a str>,
}

/// A participant of a teleconsultation, however they came in (a login or a link).
pub struct Caller {
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
    pub fn turn_user(&self, consult: uuid::Uuid) -> String {
        let short = |u: uuid::Uuid| u.simple().to_string()[..12].to_string();
        match (self.user, self.guest) {
            (Some(u), _) => u.to_string(),
            (None, Some(g)) => format!("guest-{}", short(g)),
            (None, None) => format!("patient-{}", short(consult)),
        }
    }
}

/// The appointment and who is asking: an access token (its professional or patient; staff
/// and others get 404) or a link token (`?token=`, the patient's or an invited guest's).
pub async fn caller(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
) -> Result<(AppointmentView, Caller), AppError> {
    if let Some(token) = cred.link {
        let (view, entry) = link_entry(state, token).await.map_err(AppError::from)?;
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
    let token = cred.bearer.ok_or_else(|| {
        AppError::unauthorized("unauthenticated", "faça login ou use o link da consulta")
    })?;
    let auth = authenticate(state, token, None).await?;
    let view = open_appointment(&state.store, id)
        .await
        .map_err(AppError::from)?;
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
