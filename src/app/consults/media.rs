//! A teleconsultation's server-side media: the pre-call check (a server peer that reflects
//! the participant's camera and microphone and measures the connection) and the media relay
//! (publish once, subscribe once per other participant). Every call answers a browser's
//! complete SDP offer with the server's complete answer. The caller is whoever the request
//! names: a login (the professional or the patient) or a link (the patient or a guest).

use serde::{Deserialize, Serialize};

use super::{Caller, Credentials, caller, current_invitation, session_of};
use crate::actors::consult::view::media_of;
use crate::actors::consult::{ended, in_call, relay_disabled};
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::config::RelayMode;
use crate::domain::ValidationError;
use crate::domain::consult::{ConsultMedia, ConsultStatus};
use crate::media::MediaError;
use crate::media::relay::{Participant, PublisherView, RelayError};

/// A browser's offer (and, to subscribe, whose tracks it wants).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    /// The complete SDP offer (gathered candidates included: no trickle).
    pub sdp: String,
    /// Subscribe only: the publisher whose audio and video to receive.
    pub publisher_id: Option<uuid::Uuid>,
}

/// The server's complete SDP answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SdpAnswer {
    pub sdp: String,
}

/// The answer to a publication, and the id others subscribe to it by.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    pub sdp: String,
    pub publisher_id: uuid::Uuid,
}

/// Who publishes on this node's relay for a call (also pushed as `consult.media`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Publishers {
    pub publishers: Vec<PublisherView>,
}

fn media_error(e: MediaError) -> AppError {
    match e {
        MediaError::InvalidOffer(why) => {
            ValidationError::new("invalid_sdp", format!("oferta SDP inválida: {why}")).into()
        }
        MediaError::Full => AppError::Overloaded {
            code: "media_unavailable",
            message: "o servidor de mídia está cheio agora; tente de novo em instantes".into(),
        },
        MediaError::Webrtc(why) => {
            tracing::warn!(error = %why, "server peer failed");
            AppError::Overloaded {
                code: "media_unavailable",
                message: "o servidor de mídia não conseguiu atender; tente de novo".into(),
            }
        }
    }
}

fn relay_error(e: RelayError) -> AppError {
    match e {
        RelayError::Media(m) => media_error(m),
        RelayError::UnknownPublisher => AppError::NotFound,
        RelayError::OwnPublication => ValidationError::new(
            "invalid_publisher",
            "não é possível assinar a própria transmissão",
        )
        .into(),
    }
}

/// Close whatever server media a guest has in this call: relay publication,
/// subscriptions, pre-call check.
pub(super) async fn drop_guest_media(state: &AppState, id: uuid::Uuid, key: &str) {
    state.media.rooms.leave(id, key).await;
    state.media.stop_check(id, key).await;
}

/// A guest's request may have passed its link check just before the professional took the
/// invitation back: look again once its peer is set up, and undo it if so. (A revocation
/// committed after this look runs its own clean-up after the peer exists.)
async fn still_invited(state: &AppState, id: uuid::Uuid, who: &Caller) -> Result<(), AppError> {
    let Some(guest) = who.guest else {
        return Ok(());
    };
    if let Err(e) = current_invitation(state, guest).await {
        drop_guest_media(state, id, &who.key()).await;
        return Err(AppError::from(e));
    }
    Ok(())
}

/// The call must be on the relay and in progress.
async fn relayed_call(state: &AppState, id: uuid::Uuid) -> Result<(), AppError> {
    let relay = state.settings.media.relay;
    if relay == RelayMode::Never {
        return Err(relay_disabled().into());
    }
    let row = in_call(
        &state.store,
        id,
        "a chamada começa quando o profissional admitir o paciente",
    )
    .await?;
    if media_of(relay, &row) != ConsultMedia::Relay {
        return Err(AppError::conflict(
            "relay_not_active",
            "esta chamada está ponto a ponto; peça o modo retransmitido (use-relay) antes",
        ));
    }
    Ok(())
}

fn participant(c: &Caller) -> Participant {
    Participant {
        key: c.key(),
        role: c.side.as_str(),
        name: c.name.clone(),
    }
}

/// The pre-call check: a server peer that sends the camera and microphone back and reports
/// round-trip time, loss, bitrate and a verdict over its `check` data channel.
pub async fn check(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
    offer: &OfferBody,
) -> Result<SdpAnswer, AppError> {
    let (view, who) = caller(state, cred, id).await?;
    if session_of(state, &view).await?.status == ConsultStatus::Ended {
        return Err(ended().into());
    }
    let sdp = state
        .media
        .check(id, &who.key(), &offer.sdp)
        .await
        .map_err(media_error)?;
    still_invited(state, id, &who).await?;
    Ok(SdpAnswer { sdp })
}

/// The publishers of the call on this node's relay.
pub async fn publishers(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
) -> Result<Publishers, AppError> {
    caller(state, cred, id).await?;
    Ok(Publishers {
        publishers: state.media.rooms.publishers(id),
    })
}

/// Publish the caller's camera and microphone on the relay (replacing an earlier
/// publication of theirs).
pub async fn publish(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
    offer: &OfferBody,
) -> Result<Published, AppError> {
    let (_, who) = caller(state, cred, id).await?;
    relayed_call(state, id).await?;
    let (publisher_id, sdp) = state
        .media
        .publish(id, participant(&who), &offer.sdp)
        .await
        .map_err(relay_error)?;
    still_invited(state, id, &who).await?;
    Ok(Published { sdp, publisher_id })
}

/// Stop the caller's publication, if any.
pub async fn unpublish(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
) -> Result<(), AppError> {
    let (_, who) = caller(state, cred, id).await?;
    state.media.rooms.unpublish(id, &who.key()).await;
    Ok(())
}

/// Receive one publisher's audio and video (stream id = publisher id).
pub async fn subscribe(
    state: &AppState,
    cred: Credentials<'_>,
    id: uuid::Uuid,
    offer: &OfferBody,
) -> Result<SdpAnswer, AppError> {
    let (_, who) = caller(state, cred, id).await?;
    let publisher = offer.publisher_id.ok_or_else(|| {
        AppError::from(ValidationError::new(
            "invalid_publisher",
            "informe publisher_id",
        ))
    })?;
    relayed_call(state, id).await?;
    let sdp = state
        .media
        .subscribe(id, &who.key(), publisher, &offer.sdp)
        .await
        .map_err(relay_error)?;
    still_invited(state, id, &who).await?;
    Ok(SdpAnswer { sdp })
}
