//! LGPD data-subject requests (Lei 13.709/2018): export everything about a person (right of
//! access, art. 18 II) and anonymise a clinic's record of them where the law allows (art.
//! 18 IV/VI), keeping what retention rules require. Every request leaves an audit row
//! with who asked, about whom, and the legal basis. The rules are in `docs/lgpd.md`.
//!
//! The use cases take a [`Ctx`] rather than the whole application state, so that the
//! `atende lgpd` commands run them against the database without a server.

pub mod anonymise;
pub mod export;
pub mod pdf;
pub mod redact;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::config::LgpdSettings;
use crate::domain::ValidationError;
use crate::security::audit::AuditEvent;
use crate::security::crypto::FieldCipher;
use crate::store::Store;

/// What a data-subject request needs: the database, the field cipher, the `[lgpd]`
/// settings and the time.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub cipher: &'a FieldCipher,
    pub settings: &'a LgpdSettings,
    pub now: DateTime<Utc>,
}

impl<'a> Ctx<'a> {
    pub fn of(state: &'a AppState) -> Self {
        Self {
            store: &state.store,
            cipher: &state.cipher,
            settings: &state.settings.lgpd,
            now: state.clock.now(),
        }
    }
}

/// Who makes a request, which decides who may and what is audited.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// A clinic's admin, through the API.
    ClinicAdmin(&'a Auth),
    /// The patient, for their own records.
    Subject(&'a Auth),
    /// An operator running `atende lgpd export`.
    Operator,
}

impl Requester<'_> {
    pub(crate) fn audit(&self, action: &'static str) -> AuditEvent {
        match self {
            Requester::ClinicAdmin(a) | Requester::Subject(a) => {
                AuditEvent::new(Some(a.user_id), action, "patient").ip(a.ip.clone())
            }
            Requester::Operator => AuditEvent::new(None, action, "patient"),
        }
    }

    pub(crate) fn via(&self) -> &'static str {
        match self {
            Requester::ClinicAdmin(_) => "clinic_admin",
            Requester::Subject(_) => "subject",
            Requester::Operator => "cli",
        }
    }
}

/// The data protection officer's contact (encarregado, art. 41), as configured.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DpoView {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// The configured contact, or none when no name is set.
pub fn dpo(settings: &LgpdSettings) -> Option<DpoView> {
    let name = settings.dpo_name.trim();
    if name.is_empty() {
        return None;
    }
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    Some(DpoView {
        name: name.to_string(),
        email: some(&settings.dpo_email),
        phone: some(&settings.dpo_phone),
    })
}

/// The legal basis a request states (free text, 3–500 characters). Not the place for the
/// person's name: the audit row that keeps it never changes.
pub fn legal_basis(text: Option<&str>, default: Option<&str>) -> Result<String, AppError> {
    let text = text
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or(default)
        .unwrap_or("");
    let n = text.chars().count();
    if !(3..=500).contains(&n) {
        return Err(ValidationError::new(
            "invalid_legal_basis",
            "informe a base legal do pedido (de 3 a 500 caracteres)",
        )
        .into());
    }
    Ok(text.to_string())
}

/// The legal basis recorded when the person asks for their own data.
pub const SUBJECT_ACCESS_BASIS: &str = "LGPD art. 18, II: acesso pelo próprio titular";
/// The legal basis recorded when a clinic exports without stating one.
pub const CLINIC_ACCESS_BASIS: &str = "LGPD art. 18, II: pedido de acesso do titular à clínica";
