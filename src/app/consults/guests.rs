//! A third participant in a teleconsultation (an interpreter or a family member): the
//! professional invites them (which moves the call onto the media relay), lists the
//! invitations, and takes one back (the guest's link stops working, their connections close
//! and their media leaves the relay).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::media::drop_guest_media;
use super::{Credentials, caller, guest_link};
use crate::actors::consult::UseRelay;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::bus::revocation::publish_consult_guest_revoked;
use crate::domain::consult::{Side, participant_key};
use crate::domain::{UserId, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::agenda::AppointmentView;
use crate::store::consults::ConsultGuestRow;

/// A third participant to invite.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// How they appear in the call (2–80 characters).
    pub name: String,
    /// `interpreter` or `family`.
    pub relation: String,
}

/// An invitation just made, with the guest's entry link (same window as the patient's).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GuestInvited {
    pub guest_id: uuid::Uuid,
    pub name: String,
    /// `interpreter` or `family`.
    pub relation: String,
    pub link: String,
}

/// An invitation as the professional's list shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GuestView {
    pub guest_id: uuid::Uuid,
    pub name: String,
    /// `interpreter` or `family`.
    pub relation: String,
    pub invited_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The entry link (to copy again); null once revoked.
    pub link: Option<String>,
}

/// The consultation's professional (a login only), or 403.
async fn the_professional(
    state: &AppState,
    bearer: Option<&str>,
    id: uuid::Uuid,
) -> Result<(AppointmentView, UserId), AppError> {
    let cred = Credentials { bearer, link: None };
    let (view, who) = caller(state, cred, id).await?;
    match (who.side, who.user) {
        (Side::Professional, Some(by)) => Ok((view, by)),
        _ => Err(AppError::Forbidden),
    }
}

/// An invitation's change for the audit log (never the guest's name).
fn guest_audit(
    action: &'static str,
    by: UserId,
    view: &AppointmentView,
    guest: &ConsultGuestRow,
) -> AuditEvent {
    AuditEvent::new(Some(by), action, "appointment")
        .entity_id(view.a.id)
        .clinic(view.a.clinic_id)
        .details(json!({"guest_id": guest.id, "relation": guest.relation}))
}

/// Invite a third participant (the professional only). Guests are only possible through
/// the relay: the call moves onto it first.
pub async fn invite(
    state: &AppState,
    bearer: Option<&str>,
    id: uuid::Uuid,
    body: InviteBody,
) -> Result<GuestInvited, AppError> {
    let (view, by) = the_professional(state, bearer, id).await?;
    let name = body.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if !(2..=80).contains(&name.chars().count()) {
        return Err(
            ValidationError::new("invalid_name", "informe o nome (2 a 80 caracteres)").into(),
        );
    }
    if !matches!(body.relation.as_str(), "interpreter" | "family") {
        return Err(ValidationError::new(
            "invalid_relation",
            "relation deve ser interpreter (intérprete) ou family (familiar)",
        )
        .into());
    }
    state
        .registry
        .consult(id)
        .send(UseRelay)
        .await
        .map_err(|_| AppError::Unavailable)?
        .map_err(AppError::from)?;
    let guest = ConsultGuestRow {
        id: uuid::Uuid::now_v7(),
        appointment_id: id,
        name,
        relation: body.relation,
        invited_by: by,
        created_at: crate::store::now(),
        revoked_at: None,
    };
    let mut tx = state.store.begin().await?;
    state.store.insert_consult_guest(&mut tx, &guest).await?;
    state
        .store
        .append_audit(
            &mut tx,
            &guest_audit("consult.guest_invited", by, &view, &guest),
        )
        .await?;
    tx.commit().await?;
    Ok(GuestInvited {
        link: guest_link(state, guest.id),
        guest_id: guest.id,
        name: guest.name,
        relation: guest.relation,
    })
}

/// The consultation's invitations, oldest first (the professional only).
pub async fn list(
    state: &AppState,
    bearer: Option<&str>,
    id: uuid::Uuid,
) -> Result<Vec<GuestView>, AppError> {
    the_professional(state, bearer, id).await?;
    Ok(state
        .store
        .consult_guests(id)
        .await?
        .into_iter()
        .map(|g| GuestView {
            link: g.revoked_at.is_none().then(|| guest_link(state, g.id)),
            guest_id: g.id,
            name: g.name,
            relation: g.relation,
            invited_at: g.created_at,
            revoked_at: g.revoked_at,
        })
        .collect())
}

/// Take an invitation back (the professional only). Revoking again changes nothing; a
/// guest of another consultation is not found. After commit, the guest's connections on
/// every node close and their media leaves this node's relay.
pub async fn revoke(
    state: &AppState,
    bearer: Option<&str>,
    id: uuid::Uuid,
    guest_id: uuid::Uuid,
) -> Result<(), AppError> {
    let (view, by) = the_professional(state, bearer, id).await?;
    let mut tx = state.store.begin().await?;
    let Some(guest) = state
        .store
        .revoke_consult_guest(&mut tx, id, guest_id)
        .await?
    else {
        drop(tx);
        return match state.store.consult_guest(guest_id).await? {
            Some(g) if g.appointment_id == id => Ok(()),
            _ => Err(AppError::NotFound),
        };
    };
    state
        .store
        .append_audit(
            &mut tx,
            &guest_audit("consult.guest_revoked", by, &view, &guest),
        )
        .await?;
    tx.commit().await?;
    publish_consult_guest_revoked(state.bus.as_ref(), guest.id);
    drop_guest_media(state, id, &participant_key(Side::Guest, Some(guest.id))).await;
    Ok(())
}
