//! A clinic's live topics: `clinic:<id>:agenda` and `clinic:<id>:queue` (its staff),
//! `clinic:<id>:panel` (the redacted waiting-room view: staff, the TV panel, and patients
//! in today's queue). Clients only listen on them; changes come from the use cases.

use crate::actors::protocol::WsError;
use crate::actors::queue::clinic_today;
use crate::app::caller::Auth;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role};

/// The most clinical role first: a doctor who also administers shows as professional.
fn staff_role(auth: &Auth, clinic: ClinicId) -> Option<Role> {
    [Role::Professional, Role::ClinicAdmin, Role::Receptionist]
        .into_iter()
        .find(|r| auth.has_role(clinic, &[*r]))
}

/// The agenda and the queue: the clinic's staff only.
pub fn authorize_staff(auth: &Auth, clinic: ClinicId) -> Result<&'static str, WsError> {
    staff_role(auth, clinic)
        .map(Role::as_str)
        .ok_or_else(WsError::forbidden)
}

/// The panel: staff, or a patient who is in this clinic's queue today (following it on
/// their phone).
pub async fn authorize_panel(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<&'static str, WsError> {
    if let Some(r) = staff_role(auth, clinic) {
        return Ok(r.as_str());
    }
    let row = state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or_else(WsError::forbidden)?;
    let today = clinic_today(state.clock.as_ref(), row.tz());
    if state
        .store
        .patient_in_queue_today(clinic, today, auth.user_id)
        .await?
    {
        Ok("patient")
    } else {
        Err(WsError::forbidden())
    }
}
