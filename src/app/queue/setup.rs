//! Setting up a clinic's waiting room: its priority rules, the TV panel's secret and the
//! self check-in QR code at reception.

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::queue::{PriorityMode, QueuePolicy};
use crate::domain::{ClinicId, Role};
use crate::security::audit::AuditEvent;
use crate::security::tokens::{random_token, token_hash};
use crate::store::queue::QueueSettingsRow;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettingsRequest {
    /// `strict` (legal priority always first) or `alternate` (after `priority_run` priority
    /// calls in a row, one regular ticket).
    pub priority_mode: String,
    /// 1–10.
    pub priority_run: i64,
    /// Assumed service time for professionals with no recent history, 1–240 minutes.
    pub default_service_minutes: i64,
}

/// A clinic's waiting-room rules, and whether a TV panel is set up.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueSettingsView {
    pub priority_mode: PriorityMode,
    pub priority_run: u32,
    pub default_service_minutes: u32,
    pub panel_configured: bool,
}

impl From<&QueueSettingsRow> for QueueSettingsView {
    fn from(s: &QueueSettingsRow) -> Self {
        let p = s.policy();
        Self {
            priority_mode: p.priority_mode,
            priority_run: p.priority_run,
            default_service_minutes: p.default_service_minutes,
            panel_configured: s.panel_token_hash.is_some(),
        }
    }
}

/// A new TV panel secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct PanelTokenView {
    pub token: String,
    /// The page to open on the TV: `/#/painel/<token>`.
    pub path: String,
}

/// The self check-in page for patients and its QR code.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckinLinkView {
    pub code: String,
    /// `/#/checkin/<code>`.
    pub path: String,
    /// The absolute address of the page.
    pub url: String,
    /// The QR code of `url`, as SVG, to show or print at reception.
    pub qr_svg: Option<String>,
}

/// The audit row of a change to the clinic's waiting-room setup.
fn clinic_changed(auth: &Auth, clinic: ClinicId, action: &'static str) -> AuditEvent {
    AuditEvent::new(Some(auth.user_id), action, "clinic")
        .entity_id(clinic)
        .clinic(clinic)
        .ip(auth.ip.clone())
}

pub async fn get_settings(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<QueueSettingsView, AppError> {
    auth.require_staff(clinic)?;
    Ok(QueueSettingsView::from(
        &state.store.queue_settings(clinic).await?,
    ))
}

/// Change the rules (clinic administrators); the next call follows them.
pub async fn put_settings(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    body: QueueSettingsRequest,
) -> Result<QueueSettingsView, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let policy = QueuePolicy::new(
        PriorityMode::parse(&body.priority_mode)?,
        body.priority_run,
        body.default_service_minutes,
    )?;
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_queue_policy(&mut tx, clinic, &policy)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &clinic_changed(auth, clinic, "queue.settings_changed").details(
                json!({"priority_mode": policy.priority_mode, "priority_run": policy.priority_run,
                                "default_service_minutes": policy.default_service_minutes}),
            ),
        )
        .await?;
    tx.commit().await?;
    Ok(QueueSettingsView::from(
        &state.store.queue_settings(clinic).await?,
    ))
}

/// A new TV panel secret (clinic administrators); TVs showing the old one go dark.
pub async fn new_panel_token(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<PanelTokenView, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let token = random_token();
    let old = state.store.queue_settings(clinic).await?.panel_token_hash;
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_panel_token_hash(&mut tx, clinic, &token_hash(&token))
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &clinic_changed(auth, clinic, "queue.panel_token_created"),
        )
        .await?;
    tx.commit().await?;
    if let Some(old) = old {
        // TVs showing the old link go dark now, on every node.
        crate::bus::revocation::publish_panel_revoked(state.bus.as_ref(), &old);
    }
    Ok(PanelTokenView {
        path: format!("/#/painel/{token}"),
        token,
    })
}

/// The absolute address of this installation: the configured one, else as the caller
/// reached it (`seen`, e.g. `https://clinica.example`).
fn base_url(state: &AppState, seen: &str) -> String {
    let configured = state.settings.server.public_url.trim_end_matches('/');
    if configured.is_empty() {
        seen.to_string()
    } else {
        configured.to_string()
    }
}

fn checkin_view(state: &AppState, seen: &str, code: String) -> CheckinLinkView {
    let path = format!("/#/checkin/{code}");
    let url = format!("{}{path}", base_url(state, seen));
    CheckinLinkView {
        qr_svg: crate::qr::svg(&url),
        code,
        path,
        url,
    }
}

/// The clinic's self check-in link (made on first use), for any of its staff. `seen` is
/// the address the caller reached this installation at.
pub async fn checkin_link(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    seen: &str,
) -> Result<CheckinLinkView, AppError> {
    auth.require_staff(clinic)?;
    let mut tx = state.store.begin().await?;
    let code = state
        .store
        .ensure_checkin_token(&mut tx, clinic, &random_token(), true)
        .await?;
    tx.commit().await?;
    Ok(checkin_view(state, seen, code))
}

/// A new check-in code (clinic administrators): the printed QR code stops working.
pub async fn rotate_checkin_link(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    seen: &str,
) -> Result<CheckinLinkView, AppError> {
    auth.require_role(clinic, &[Role::ClinicAdmin])?;
    let mut tx = state.store.begin().await?;
    let code = state
        .store
        .ensure_checkin_token(&mut tx, clinic, &random_token(), false)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &clinic_changed(auth, clinic, "queue.checkin_link_rotated"),
        )
        .await?;
    tx.commit().await?;
    Ok(checkin_view(state, seen, code))
}
