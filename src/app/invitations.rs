//! Invitations: a clinic's admin adds a person who has no account yet without choosing a
//! password for them. The account is made with a password nobody knows, and an e-mail from
//! the clinic carries a one-time link (256-bit token, only its hash kept, valid for
//! [`INVITATION_TTL_DAYS`] days on the application's clock) to the page where the person
//! creates their own password — the same token store and confirmation as a password reset
//! (`POST /api/auth/password-reset/confirm`), so an invitation is a first password set,
//! and an admin never knows, types or sends anyone's password.

use chrono::Duration;
use serde_json::json;

use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, Role};
use crate::security::tokens::{random_token, token_hash};
use crate::store::Tx;
use crate::store::outbox::NewMessage;
use crate::store::users::UserRow;

/// How long an invitation link works.
pub const INVITATION_TTL_DAYS: i64 = 7;
/// The web page an invitation link opens (the token follows).
pub const INVITATION_PAGE: &str = "/#/convite/";

/// What the invitation calls the role, in Portuguese.
fn role_words(role: Role) -> &'static str {
    match role {
        Role::ClinicAdmin => "administração da clínica",
        Role::Professional => "profissional de saúde",
        Role::Receptionist => "recepção",
    }
}

/// An unusable password for an invited account: the hash of a random secret that is
/// dropped at once.
pub async fn unknowable_password_hash() -> Result<String, AppError> {
    Ok(crate::security::password::hash(random_token()).await?)
}

/// Queue the invitation e-mail to `user` from `clinic`, in the transaction that adds them.
pub async fn queue_invitation(
    state: &AppState,
    tx: &mut Tx,
    user: &UserRow,
    clinic: ClinicId,
    role: Role,
) -> Result<(), AppError> {
    let token = random_token();
    let now = state.clock.now();
    state
        .store
        .insert_password_reset(
            tx,
            &token_hash(&token),
            user.id,
            now,
            now + Duration::days(INVITATION_TTL_DAYS),
        )
        .await?;
    let payload = json!({
        "name": user.full_name,
        "role": role_words(role),
        "days": INVITATION_TTL_DAYS,
        "invite_path": format!("{INVITATION_PAGE}{token}"),
    });
    let message = NewMessage {
        clinic: Some(clinic),
        user: Some(user.id),
        channel: "email",
        template: "staff_invitation".into(),
        to_address: Some(user.email.clone()),
        ..Default::default()
    };
    state.store.insert_message(tx, &message, &payload).await?;
    Ok(())
}
