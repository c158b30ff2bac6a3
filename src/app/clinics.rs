//! Clinics and their people: professionals (who may work in several clinics) and staff.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::invitations;
use crate::app::state::AppState;
use crate::bus::revocation::publish_access_changed;
use crate::domain::{
    Address, ClinicId, Cnpj, Council, CouncilNumber, Email, Gender, Password, PersonName,
    Profession, ProfessionalId, Role, Uf, UserId, ValidationError,
};
use crate::security::audit::AuditEvent;
use crate::security::password;
use crate::store::clinics::ClinicRow;
use crate::store::users::{ProfessionalRow, UserRow};
use crate::store::{self, StoreError, Tx};

/// A clinic's time zone, or 404.
pub async fn clinic_tz(state: &AppState, clinic: ClinicId) -> Result<chrono_tz::Tz, AppError> {
    Ok(state
        .store
        .clinic_by_id(clinic)
        .await?
        .ok_or(AppError::NotFound)?
        .tz())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClinicView {
    pub id: ClinicId,
    pub name: String,
    /// Formatted, e.g. `11.222.333/0001-81`.
    pub cnpj: String,
    pub address: Address,
    /// IANA time zone the clinic's times are shown in.
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

impl From<ClinicRow> for ClinicView {
    fn from(c: ClinicRow) -> Self {
        Self {
            address: c.address(),
            id: c.id,
            name: c.name,
            cnpj: Cnpj::from_stored(c.cnpj).to_string(),
            time_zone: c.time_zone,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfessionalView {
    pub id: ProfessionalId,
    pub profession: String,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
    pub specialty: Option<String>,
    pub rqe: Option<String>,
    /// `female`, `male`, or absent: the words about them agree with it (Dra./Dr.).
    pub gender: Option<String>,
}

impl From<ProfessionalRow> for ProfessionalView {
    fn from(p: ProfessionalRow) -> Self {
        Self {
            id: p.id,
            profession: p.profession,
            council: p.council,
            council_number: p.council_number,
            council_uf: p.council_uf,
            specialty: p.specialty,
            rqe: p.rqe,
            gender: p.gender,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub full_name: String,
    pub email: String,
    pub role: Role,
    pub professional: Option<ProfessionalView>,
    /// Just added with a new account and no password: an invitation e-mail with a link to
    /// create one is on its way (only in the answer to adding; false in lists).
    #[serde(default)]
    pub invitation_sent: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClinicRequest {
    pub name: String,
    pub cnpj: String,
    pub address: Address,
    /// IANA zone; default `America/Sao_Paulo`.
    #[serde(default)]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProfessionalRequest {
    pub email: String,
    pub full_name: String,
    /// An initial password for a new account. Left out (or empty) for an address with no
    /// account, the person gets an invitation e-mail to create their own.
    #[serde(default)]
    pub password: Option<String>,
    /// doctor, dentist, physiotherapist, psychologist, nutritionist, nurse
    pub profession: String,
    /// CRM, CRO, CREFITO, CRP, CRN, COREN — must match the profession.
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
    /// `female` or `male`: titles and professions agree with it (Dra. Helena, Cirurgiã-dentista).
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub specialty: Option<String>,
    /// Registro de Qualificação de Especialista.
    #[serde(default)]
    pub rqe: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaffRequest {
    pub email: String,
    pub full_name: String,
    /// As for a professional: left out for a new account, an invitation e-mail is sent.
    #[serde(default)]
    pub password: Option<String>,
    /// `receptionist` or `clinic_admin`.
    pub role: String,
}

/// Create a clinic, by `actor` (none: the system). Platform admins do it through
/// [`create_clinic`]; the demo seeding calls it directly.
pub async fn register_clinic(
    state: &AppState,
    actor: Option<UserId>,
    ip: Option<String>,
    req: &NewClinicRequest,
) -> Result<ClinicRow, AppError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ValidationError::new("invalid_name", "nome da clínica inválido").into());
    }
    let cnpj = Cnpj::parse(&req.cnpj)?;
    let address = req.address.parse()?;
    let tz = req
        .time_zone
        .as_deref()
        .unwrap_or("America/Sao_Paulo")
        .trim()
        .to_string();
    if tz.parse::<chrono_tz::Tz>().is_err() {
        return Err(ValidationError::new("invalid_time_zone", "fuso horário desconhecido").into());
    }
    let row = ClinicRow {
        id: ClinicId::new(),
        name: name.to_string(),
        cnpj: cnpj.as_str().to_string(),
        street: address.street,
        number: address.number,
        complement: address.complement,
        district: address.district,
        city: address.city,
        uf: address.uf,
        postal_code: address.postal_code,
        time_zone: tz,
        created_at: store::now(),
    };
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_clinic(&mut tx, &row)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::conflict("cnpj_taken", "já existe uma clínica com este CNPJ")
            }
            other => other.into(),
        })?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(actor, "clinic.created", "clinic")
                .entity_id(row.id)
                .clinic(row.id)
                .ip(ip),
        )
        .await?;
    tx.commit().await?;
    Ok(row)
}

/// Write a new account inside `tx` (`email_taken` if the e-mail already has one).
pub async fn insert_account(state: &AppState, tx: &mut Tx, user: &UserRow) -> Result<(), AppError> {
    state
        .store
        .insert_user(tx, user)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::conflict("email_taken", "este e-mail já tem conta")
            }
            other => other.into(),
        })
}

/// A member's account: theirs when the address has one, else a new one — with the initial
/// password given, or (none given) a password nobody knows and an invitation to follow
/// ([`NewAccount::Invited`]).
async fn existing_or_new_user(
    state: &AppState,
    email: &Email,
    full_name: &str,
    password: Option<&str>,
) -> Result<(UserRow, NewAccount), AppError> {
    if let Some(user) = state.store.user_by_email(email.as_str()).await? {
        return Ok((user, NewAccount::No));
    }
    let name = PersonName::parse(full_name)?;
    let given = password.filter(|p| !p.is_empty());
    let (hash, new) = match given {
        Some(p) => {
            let password = Password::parse(p)?;
            (
                password::hash(password.expose().to_owned()).await?,
                NewAccount::WithPassword,
            )
        }
        None => (
            invitations::unknowable_password_hash().await?,
            NewAccount::Invited,
        ),
    };
    Ok((new_user_row(email, name, hash), new))
}

/// Whether adding a member made their account, and how they get in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewAccount {
    No,
    WithPassword,
    /// They create their password from the invitation e-mail.
    Invited,
}

fn new_user_row(email: &Email, name: PersonName, hash: String) -> UserRow {
    UserRow {
        id: UserId::new(),
        email: email.as_str().to_string(),
        password_hash: hash,
        full_name: name.into_inner(),
        platform_admin: false,
        created_at: store::now(),
        disabled_at: None,
    }
}

/// Add a professional to a clinic, creating their account and council registration if
/// new, by `actor` (none: the system). Admins do it through [`add_professional`].
pub async fn enroll_professional(
    state: &AppState,
    actor: Option<UserId>,
    ip: Option<String>,
    clinic: ClinicId,
    req: &NewProfessionalRequest,
) -> Result<MemberView, AppError> {
    let email = Email::parse(&req.email)?;
    let profession = Profession::parse(req.profession.trim())?;
    let council = Council::parse(&req.council)?;
    if council != profession.council() {
        return Err(ValidationError::new(
            "council_mismatch",
            format!(
                "a profissão informada é registrada no {}",
                profession.council().as_str()
            ),
        )
        .into());
    }
    let number = CouncilNumber::parse(council, &req.council_number)?;
    let uf = Uf::parse(&req.council_uf)?;
    let gender = req
        .gender
        .as_deref()
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(Gender::parse)
        .transpose()?;
    let short = |v: &Option<String>,
                 code: &'static str,
                 max: usize|
     -> Result<Option<String>, ValidationError> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) if s.chars().count() <= max && !s.chars().any(char::is_control) => {
                Ok(Some(s.to_string()))
            }
            Some(_) => Err(ValidationError::new(code, "valor inválido")),
        }
    };
    let specialty = short(&req.specialty, "invalid_specialty", 100)?;
    let rqe = short(&req.rqe, "invalid_rqe", 12)?;
    if rqe
        .as_deref()
        .is_some_and(|r| !r.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ValidationError::new("invalid_rqe", "RQE deve conter apenas números").into());
    }
    let (user, new) =
        existing_or_new_user(state, &email, &req.full_name, req.password.as_deref()).await?;
    let is_new = new != NewAccount::No;
    let invited = new == NewAccount::Invited;
    let existing_profile = if is_new {
        None
    } else {
        state.store.professional_by_user(user.id).await?
    };
    let mut tx = state.store.begin().await?;
    if is_new {
        insert_account(state, &mut tx, &user).await?;
    }
    let profile = match existing_profile {
        Some(p) => p,
        None => {
            let p = ProfessionalRow {
                id: ProfessionalId::new(),
                user_id: user.id,
                profession: profession.as_str().to_string(),
                council: council.as_str().to_string(),
                council_number: number.into_inner(),
                council_uf: uf.as_str().to_string(),
                specialty,
                rqe,
                created_at: store::now(),
                gender: gender.map(|g| g.as_str().to_string()),
            };
            state
                .store
                .insert_professional(&mut tx, &p)
                .await
                .map_err(|e| match e {
                    StoreError::Conflict(_) => AppError::conflict(
                        "council_number_taken",
                        "este registro no conselho já pertence a outro profissional",
                    ),
                    other => other.into(),
                })?;
            p
        }
    };
    state
        .store
        .add_membership(&mut tx, user.id, clinic, Role::Professional)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(actor, "member.added", "user")
                .entity_id(user.id)
                .clinic(clinic)
                .ip(ip)
                .details(serde_json::json!({"role": "professional", "new_account": is_new, "invited": invited})),
        )
        .await?;
    if invited {
        invitations::queue_invitation(state, &mut tx, &user, clinic, Role::Professional).await?;
    }
    tx.commit().await?;
    Ok(MemberView {
        user_id: user.id,
        full_name: user.full_name,
        email: user.email,
        role: Role::Professional,
        professional: Some(profile.into()),
        invitation_sent: invited,
    })
}

/// Add a receptionist or clinic admin to a clinic, creating the account if new, by
/// `actor` (none: the system). Admins do it through [`add_staff`].
pub async fn enroll_staff(
    state: &AppState,
    actor: Option<UserId>,
    ip: Option<String>,
    clinic: ClinicId,
    req: &NewStaffRequest,
) -> Result<MemberView, AppError> {
    let email = Email::parse(&req.email)?;
    let role = match Role::parse(req.role.trim()) {
        Some(r @ (Role::Receptionist | Role::ClinicAdmin)) => r,
        _ => {
            return Err(ValidationError::new(
                "invalid_role",
                "papel deve ser receptionist ou clinic_admin",
            )
            .into());
        }
    };
    let (user, new) =
        existing_or_new_user(state, &email, &req.full_name, req.password.as_deref()).await?;
    let is_new = new != NewAccount::No;
    let invited = new == NewAccount::Invited;
    let mut tx = state.store.begin().await?;
    if is_new {
        insert_account(state, &mut tx, &user).await?;
    }
    state
        .store
        .add_membership(&mut tx, user.id, clinic, role)
        .await?;
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(actor, "member.added", "user")
                .entity_id(user.id)
                .clinic(clinic)
                .ip(ip)
                .details(serde_json::json!({"role": role.as_str(), "new_account": is_new, "invited": invited})),
        )
        .await?;
    if invited {
        invitations::queue_invitation(state, &mut tx, &user, clinic, role).await?;
    }
    tx.commit().await?;
    Ok(MemberView {
        user_id: user.id,
        full_name: user.full_name,
        email: user.email,
        role,
        professional: None,
        invitation_sent: invited,
    })
}

async fn clinic_or_404(state: &AppState, id: ClinicId) -> Result<ClinicRow, AppError> {
    state
        .store
        .clinic_by_id(id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Members may be managed by the clinic's admins and by platform admins.
fn require_admin(auth: &Auth, clinic: ClinicId) -> Result<(), AppError> {
    if auth.platform_admin {
        return Ok(());
    }
    auth.require_role(clinic, &[Role::ClinicAdmin])
}

/// Clinics the caller works in (all, for platform admins).
pub async fn list_clinics(state: &AppState, auth: &Auth) -> Result<Vec<ClinicView>, AppError> {
    let rows = if auth.platform_admin {
        state.store.all_clinics().await?
    } else {
        state.store.clinics_of_user(auth.user_id).await?
    };
    Ok(rows.into_iter().map(ClinicView::from).collect())
}

/// Open a new clinic (platform admins only).
pub async fn create_clinic(
    state: &AppState,
    auth: &Auth,
    req: &NewClinicRequest,
) -> Result<ClinicView, AppError> {
    auth.require_platform_admin()?;
    let row = register_clinic(state, Some(auth.user_id), auth.ip.clone(), req).await?;
    Ok(ClinicView::from(row))
}

/// One clinic, for its staff and platform admins.
pub async fn get_clinic(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<ClinicView, AppError> {
    if !auth.platform_admin {
        auth.require_staff(clinic)?;
    }
    Ok(ClinicView::from(clinic_or_404(state, clinic).await?))
}

/// A clinic's people with their roles (professionals with their council registration).
pub async fn list_members(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<Vec<MemberView>, AppError> {
    if !auth.platform_admin {
        auth.require_staff(clinic)?;
    }
    clinic_or_404(state, clinic).await?;
    let profiles = state.store.professionals_in_clinic(clinic).await?;
    Ok(state
        .store
        .members_of_clinic(clinic)
        .await?
        .into_iter()
        .filter_map(|m| {
            let role = Role::parse(&m.role)?;
            let professional = (role == Role::Professional)
                .then(|| profiles.iter().find(|p| p.user_id == m.user_id).cloned())
                .flatten()
                .map(ProfessionalView::from);
            Some(MemberView {
                user_id: m.user_id,
                full_name: m.full_name,
                email: m.email,
                role,
                professional,
                invitation_sent: false,
            })
        })
        .collect())
}

/// Add a professional to a clinic (its admins, or platform admins).
pub async fn add_professional(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: &NewProfessionalRequest,
) -> Result<MemberView, AppError> {
    require_admin(auth, clinic)?;
    clinic_or_404(state, clinic).await?;
    enroll_professional(state, Some(auth.user_id), auth.ip.clone(), clinic, req).await
}

/// Add a receptionist or clinic admin to a clinic (its admins, or platform admins).
pub async fn add_staff(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    req: &NewStaffRequest,
) -> Result<MemberView, AppError> {
    require_admin(auth, clinic)?;
    clinic_or_404(state, clinic).await?;
    enroll_staff(state, Some(auth.user_id), auth.ip.clone(), clinic, req).await
}

/// Take a role in a clinic away from a member (its admins, or platform admins), audited.
/// The member's live connections close on every node (4002 `access changed`) and their
/// next joins are authorized against the roles they still hold. The clinic's last admin
/// cannot lose the role (`last_admin`); a role the member does not hold is 404.
pub async fn remove_member_role(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    member: UserId,
    role: &str,
) -> Result<(), AppError> {
    require_admin(auth, clinic)?;
    clinic_or_404(state, clinic).await?;
    let role = Role::parse(role.trim()).ok_or_else(|| {
        ValidationError::new(
            "invalid_role",
            "papel deve ser clinic_admin, professional ou receptionist",
        )
    })?;
    let mut tx = state.store.begin().await?;
    if !state
        .store
        .remove_membership(&mut tx, member, clinic, role)
        .await?
    {
        return Err(AppError::NotFound);
    }
    if role == Role::ClinicAdmin && state.store.count_role_in(&mut tx, clinic, role).await? == 0 {
        return Err(AppError::conflict(
            "last_admin",
            "a clínica precisa de ao menos um administrador",
        ));
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "member.role_removed", "user")
                .entity_id(member)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(serde_json::json!({ "role": role.as_str() })),
        )
        .await?;
    tx.commit().await?;
    publish_access_changed(state.bus.as_ref(), member);
    Ok(())
}
