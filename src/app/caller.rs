//! Who is asking: the authenticated caller, resolved once per request (or per WebSocket
//! join) from their token, with their clinic roles, so every use case can check scope in
//! one line.

use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{ClinicId, PatientId, Role, SessionId, UserId};
use crate::security::tokens::TokenError;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    pub user_id: UserId,
    pub session_id: SessionId,
    pub email: String,
    pub full_name: String,
    pub platform_admin: bool,
    /// Every (clinic, role) the caller holds.
    pub roles: Vec<(ClinicId, Role)>,
    /// Set when the caller is a patient with their own profile (typed at sign-up). It is
    /// never a clinic's record: those are reached only through `linked`.
    pub patient_id: Option<PatientId>,
    /// Clinic records the caller proved control of (link state `linked`), by clinic.
    pub linked: Vec<(ClinicId, PatientId)>,
    /// The client address, for the audit log.
    pub ip: Option<String>,
    /// A clinic of the caller requires two-factor of them and they have not enrolled: the
    /// session may only enrol (every other route answers 403 `mfa_enrolment_required`).
    pub mfa_enrolment_required: bool,
}

impl Auth {
    pub fn has_role(&self, clinic: ClinicId, allowed: &[Role]) -> bool {
        self.roles
            .iter()
            .any(|(c, r)| *c == clinic && allowed.contains(r))
    }

    /// Any role at all in the clinic.
    pub fn is_staff_of(&self, clinic: ClinicId) -> bool {
        self.roles.iter().any(|(c, _)| *c == clinic)
    }

    /// Refuse unless the caller holds one of `allowed` in `clinic`.
    pub fn require_role(&self, clinic: ClinicId, allowed: &[Role]) -> Result<(), AppError> {
        if self.has_role(clinic, allowed) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn require_staff(&self, clinic: ClinicId) -> Result<(), AppError> {
        if self.is_staff_of(clinic) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Whether the caller may act as the patient of record `id`: their own profile or a
    /// clinic record linked to their account. Every patient-facing check goes through here.
    pub fn owns_patient(&self, id: PatientId) -> bool {
        self.patient_id == Some(id) || self.linked.iter().any(|(_, p)| *p == id)
    }

    /// Every record the caller may see as the patient.
    pub fn patient_ids(&self) -> Vec<PatientId> {
        self.patient_id
            .into_iter()
            .chain(self.linked.iter().map(|(_, p)| *p))
            .collect()
    }

    /// The caller's record at `clinic` (the first linked one), if any.
    pub fn record_at(&self, clinic: ClinicId) -> Option<PatientId> {
        self.linked
            .iter()
            .find(|(c, _)| *c == clinic)
            .map(|(_, p)| *p)
    }

    /// Refuse a session limited to enrolling a second factor (see
    /// [`Auth::mfa_enrolment_required`]).
    pub fn require_full_session(&self) -> Result<(), AppError> {
        if self.mfa_enrolment_required {
            Err(AppError::forbidden(
                "mfa_enrolment_required",
                "sua clínica exige a verificação em duas etapas: ative-a em Segurança da conta para continuar",
            ))
        } else {
            Ok(())
        }
    }

    pub fn require_platform_admin(&self) -> Result<(), AppError> {
        if self.platform_admin {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// Resolve an access token to an [`Auth`]: signature and expiry, live session, active user.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    ip: Option<String>,
) -> Result<Auth, AppError> {
    let claims = state.tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => AppError::unauthorized("token_expired", "sessão expirada"),
        TokenError::Invalid => AppError::unauthorized("invalid_token", "token inválido"),
    })?;
    load_auth(state, claims.sub, claims.sid, ip).await
}

/// Resolve a user and login session to an [`Auth`], checking the session is still live and
/// reading the user's current roles. WebSocket sessions call this again on every join.
pub async fn load_auth(
    state: &AppState,
    user_id: UserId,
    session_id: SessionId,
    ip: Option<String>,
) -> Result<Auth, AppError> {
    // Two queries, whatever the caller holds: the account with its session and own profile,
    // then its roles and linked records.
    let caller = state
        .store
        .caller(user_id, session_id)
        .await?
        .filter(|c| c.session_live)
        .ok_or_else(|| {
            AppError::unauthorized("session_revoked", "sessão encerrada; entre novamente")
        })?;
    if caller.disabled {
        return Err(AppError::unauthorized("invalid_token", "usuário inativo"));
    }
    let mut roles: Vec<(ClinicId, Role)> = Vec::new();
    let mut linked = Vec::new();
    for g in state.store.caller_grants(user_id).await? {
        if g.kind != "m" {
            linked.push((g.clinic_id, PatientId(g.record_id)));
        } else if let Some(r) = Role::parse(&g.role) {
            roles.push((g.clinic_id, r));
        }
    }
    let patient_id = caller.patient_id;
    // Only professionals and admins can be held to a clinic's two-factor policy: patients
    // and receptionists (most requests) skip the query.
    let policy_applies = roles
        .iter()
        .any(|(_, r)| matches!(r, Role::Professional | Role::ClinicAdmin));
    let mfa_enrolment_required =
        policy_applies && state.store.mfa_enrolment_pending(user_id).await?;
    Ok(Auth {
        user_id,
        session_id,
        email: caller.email,
        full_name: caller.full_name,
        platform_admin: caller.platform_admin,
        roles,
        patient_id,
        linked,
        ip,
        mfa_enrolment_required,
    })
}
