//! A teleconsultation's session over HTTP: its state with the patient's entry link, the ICE
//! servers (STUN, and TURN with short-lived coturn REST credentials), and the public
//! preview a link's page shows before connecting.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{Credentials, Party, caller, check_window, party, patient_link, read_link, session_of};
use crate::actors::consult::open_appointment;
use crate::actors::consult::view::ConsultState;
use crate::actors::protocol::WsError;
use crate::app::caller::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::consult::ConsultStatus;

/// The session as its professional or patient sees it, with the patient's entry link.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsultView {
    #[serde(flatten)]
    pub state: ConsultState,
    /// The patient's entry link (a path of the web app), to send them: for the professional
    /// and the patient only. The clinic's other staff see that it exists, not the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_link: Option<String>,
    /// Whether the patient has an entry link (always, for a teleconsultation).
    pub has_patient_link: bool,
}

/// The session, for its professional, its patient or the clinic's staff (anyone else: 404);
/// the patient's entry link only for the professional and the patient.
pub async fn consult_view(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<ConsultView, AppError> {
    let view = open_appointment(&state.store, id)
        .await
        .map_err(AppError::from)?;
    let party = party(auth, &view)?;
    let row = session_of(state, &view).await?;
    Ok(ConsultView {
        state: ConsultState::of(&view, &row, state.settings.media.relay),
        patient_link: (party != Party::Staff).then(|| patient_link(state, id)),
        has_patient_link: true,
    })
}

/// One ICE server, as `RTCIceServer` takes it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    /// TURN only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The ICE servers for one participant, and when their TURN credentials expire.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// STUN, and TURN with credentials for this participant valid for
/// `consult.turn_credential_ttl_secs` (asked again at every ICE restart).
pub async fn ice_servers(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
) -> Result<IceServers, AppError> {
    let who = caller(state, cred, id).await?.1.turn_user(id);
    let cfg = &state.settings.consult;
    let mut servers = Vec::new();
    if !cfg.stun_urls.is_empty() {
        servers.push(IceServer {
            urls: cfg.stun_urls.clone(),
            username: None,
            credential: None,
        });
    }
    let ttl = cfg.turn_credential_ttl_secs as i64;
    // The wall clock, not the app's: coturn checks the credential's expiry against its own.
    let now = Utc::now().timestamp();
    let mut expires_at = now + ttl;
    if !cfg.turn_urls.is_empty() {
        let c = crate::media::turn::credential(cfg.turn_secret.expose().as_bytes(), &who, now, ttl)
            .map_err(|e| AppError::Unexpected(anyhow::anyhow!("turn: {e}")))?;
        expires_at = c.expires_at;
        servers.push(IceServer {
            urls: cfg.turn_urls.clone(),
            username: Some(c.username),
            credential: Some(c.credential),
        });
    }
    Ok(IceServers {
        ice_servers: servers,
        expires_at,
    })
}

/// What a link's page shows before connecting. Nobody's full name but the professional's:
/// `participants` is always empty here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsultPreview {
    #[serde(flatten)]
    pub state: ConsultState,
    /// Whom the link lets in: `patient` or `guest`.
    #[serde(rename = "as")]
    pub entering_as: String,
    /// The invited guest's name (null on the patient's link).
    pub guest_name: Option<String>,
    /// When the waiting room opens (`consult.link_lead_minutes` before the start).
    pub opens_at: DateTime<Utc>,
}

/// The public preview of a patient's or a guest's link: also before the room opens (the
/// page shows when it does), and after a finished call (which says so rather than
/// "invalid link").
pub async fn preview(state: &AppState, token: &str) -> Result<ConsultPreview, AppError> {
    let (view, guest) = read_link(state, token).await.map_err(AppError::from)?;
    let row = session_of(state, &view).await?;
    match check_window(state, &view).await {
        Ok(())
        | Err(WsError {
            code: "too_early", ..
        }) => {}
        Err(WsError {
            code: "invalid_token",
            ..
        }) if row.status == ConsultStatus::Ended => {}
        Err(e) => return Err(AppError::from(e)),
    }
    let mut shown = ConsultState::of(&view, &row, state.settings.media.relay);
    shown.participants = Vec::new();
    Ok(ConsultPreview {
        state: shown,
        entering_as: if guest.is_some() { "guest" } else { "patient" }.to_string(),
        guest_name: guest.map(|g| g.name),
        opens_at: view.a.starts_at
            - Duration::minutes(i64::from(state.settings.consult.link_lead_minutes)),
    })
}
