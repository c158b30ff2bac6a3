//! Patients: registered by clinic staff or signed up by themselves. Every record has one
//! owner — a clinic (its record of the person, with its encrypted clinical text) or an
//! account (the profile typed at sign-up). A CPF is never "taken": nothing is attached to
//! an existing record because a CPF or birth date matches; an account reaches a clinic's
//! record only through a proven link ([`crate::app::patient_links`]). Every staff read or
//! change goes to the audit log. A patient sees only the records they own or proved.
//!
//! Every path that creates a patient — self sign-up ([`crate::app::auth`]), the reception
//! ([`register_with_clinic`]) and the demo data — parses the identity with
//! [`PatientIdentity::parse`] and writes it with [`register_patient`]; what differs
//! between them is spelled out in a [`Registration`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::state::AppState;
use crate::domain::{
    Address, BirthDate, ClinicId, Cpf, Email, PatientId, PersonName, Phone, Role, UserId,
    ValidationError,
};
use crate::security::audit::AuditEvent;
use crate::store::patients::{ClinicPatientRow, PatientRow};
use crate::store::{self, StoreError, Tx};

/// Identity data of a patient.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PatientIdentityView {
    pub id: PatientId,
    pub full_name: String,
    /// Nome social: shown instead of the civil name wherever present.
    pub social_name: Option<String>,
    /// Formatted, e.g. `529.982.247-25`.
    pub cpf: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Postal address, when given (a special-control prescription needs it).
    pub address: Option<Address>,
    /// Whether this record is an account's own profile (typed at sign-up). A clinic's
    /// records never are: accounts reach them only through links (`…/links`).
    pub has_account: bool,
    pub created_at: DateTime<Utc>,
}

impl From<PatientRow> for PatientIdentityView {
    fn from(p: PatientRow) -> Self {
        Self {
            id: p.id,
            full_name: p.full_name,
            social_name: p.social_name,
            cpf: Cpf::from_stored(p.cpf).to_string(),
            birth_date: p.birth_date,
            phone: p.phone,
            email: p.email,
            address: p.address,
            has_account: p.user_id.is_some(),
            created_at: p.created_at,
        }
    }
}

/// A patient as one clinic sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatientView {
    #[serde(flatten)]
    pub identity: PatientIdentityView,
    /// Allergies recorded by this clinic (visible to all its staff).
    pub allergies: Option<String>,
    /// Clinical notes of this clinic: only professionals see and write them; null for other roles.
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPatientRequest {
    pub full_name: String,
    #[serde(default)]
    pub social_name: Option<String>,
    pub cpf: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Postal address (CEP checked).
    #[serde(default)]
    pub address: Option<Address>,
    #[serde(default)]
    pub allergies: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// Fields to change; absent fields stay as they are, `""` clears a field (`null` the
/// address).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatientRequest {
    #[serde(default)]
    pub social_name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// A new postal address, or `null` to remove it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
    #[serde(default)]
    pub allergies: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A field given, even as `null` (`Some(None)`), told apart from one left out (`None`, by
/// `#[serde(default)]`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A patient's own address, as they give it (`null` removes it; leaving `address` out is
/// refused, so a mistyped body never erases it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    #[serde(deserialize_with = "present")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
}

/// A patient's identity, parsed: who they are, whichever path registers them.
#[derive(Debug, Clone)]
pub struct PatientIdentity {
    pub full_name: PersonName,
    pub social_name: Option<PersonName>,
    pub cpf: Cpf,
    pub birth: BirthDate,
    pub phone: Option<Phone>,
}

impl PatientIdentity {
    /// Parse in this order (the first bad field is the one reported): name, social name,
    /// CPF, birth date, phone. Each path decides beforehand which blank optional fields
    /// count as absent.
    pub fn parse(
        full_name: &str,
        social_name: Option<&str>,
        cpf: &str,
        birth_date: &str,
        phone: Option<&str>,
        today: chrono::NaiveDate,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            full_name: PersonName::parse(full_name)?,
            social_name: social_name.map(PersonName::parse).transpose()?,
            cpf: Cpf::parse(cpf)?,
            birth: BirthDate::parse(birth_date, today)?,
            phone: phone.map(Phone::parse).transpose()?,
        })
    }
}

/// A clinic's side of a registration: its encrypted clinical text.
#[derive(Debug, Clone)]
pub struct ClinicRecord {
    pub clinic: ClinicId,
    pub allergies_enc: Option<String>,
    pub notes_enc: Option<String>,
}

/// How one path registers a patient: the differences between the paths, named.
#[derive(Debug, Clone)]
pub struct Registration {
    pub identity: PatientIdentity,
    pub email: Option<Email>,
    /// Already checked ([`Address::parse`]).
    pub address: Option<Address>,
    /// The patient's own account (self sign-up), already written in the transaction.
    pub user: Option<UserId>,
    /// The clinic that registers them, which owns the new record
    /// (`patient_already_registered` if it already has a record with this CPF; only its
    /// own records are compared, so the answer reveals nothing outside the clinic).
    pub clinic: Option<ClinicRecord>,
    /// The audit row, written in the same transaction with the record's id.
    pub audit: AuditEvent,
}

/// Write a registration inside `tx`: always a new record (owned by the clinic or by the
/// account), and the audit row. Exactly one of `user` and `clinic` is given.
pub async fn register_patient(
    state: &AppState,
    tx: &mut Tx,
    reg: Registration,
) -> Result<PatientRow, AppError> {
    let Registration {
        identity,
        email,
        address,
        user,
        clinic,
        audit,
    } = reg;
    if user.is_some() == clinic.is_some() {
        return Err(AppError::Unexpected(anyhow::anyhow!(
            "a patient record has exactly one owner"
        )));
    }
    if let Some(c) = &clinic {
        // Two receptionists registering the same person at once: one wins.
        state.store.lock_clinic(tx, "patients", c.clinic).await?;
    }
    if let Some(c) = &clinic
        && !state
            .store
            .clinic_patients_by_cpf_tx(tx, c.clinic, identity.cpf.digits())
            .await?
            .is_empty()
    {
        return Err(AppError::conflict(
            "patient_already_registered",
            "este paciente já está cadastrado nesta clínica",
        ));
    }
    let now = store::now();
    let patient = PatientRow {
        id: PatientId::new(),
        user_id: user,
        full_name: identity.full_name.into_inner(),
        social_name: identity.social_name.map(PersonName::into_inner),
        cpf: identity.cpf.digits().to_owned(),
        birth_date: identity.birth.date(),
        phone: identity.phone.map(Phone::into_inner),
        email: email.map(Email::into_inner),
        address,
        created_at: now,
        updated_at: now,
    };
    state
        .store
        .insert_patient(tx, &patient)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => AppError::conflict(
                "profile_exists",
                "esta conta já tem um cadastro de paciente",
            ),
            other => other.into(),
        })?;
    if let Some(c) = clinic {
        state
            .store
            .link_patient_to_clinic(
                tx,
                c.clinic,
                patient.id,
                c.allergies_enc.as_deref(),
                c.notes_enc.as_deref(),
            )
            .await?;
    }
    state
        .store
        .append_audit(tx, &audit.entity_id(patient.id))
        .await?;
    Ok(patient)
}

const MAX_CLINICAL_TEXT: usize = 10_000;

fn clinical_text(v: Option<&str>) -> Result<Option<String>, ValidationError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) if s.chars().count() <= MAX_CLINICAL_TEXT => Ok(Some(s.to_string())),
        Some(_) => Err(ValidationError::new(
            "text_too_long",
            format!("texto longo demais (máximo {MAX_CLINICAL_TEXT} caracteres)"),
        )),
    }
}

fn opt_nonempty(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn view(
    state: &AppState,
    row: ClinicPatientRow,
    sees_notes: bool,
) -> Result<PatientView, AppError> {
    Ok(PatientView {
        allergies: state.cipher.decrypt_opt(row.allergies_enc.as_deref())?,
        notes: if sees_notes {
            state.cipher.decrypt_opt(row.notes_enc.as_deref())?
        } else {
            None
        },
        identity: row.patient.into(),
    })
}

/// Register a patient with a clinic: always the clinic's own new record, whatever other
/// clinics or accounts hold (`patient_already_registered` only when this clinic already
/// has the CPF). By its staff at the reception (`by`), or the system (`None`, the demo
/// data), who also sees the clinical notes it wrote.
pub async fn register_with_clinic(
    state: &AppState,
    by: Option<&Auth>,
    clinic: ClinicId,
    req: &NewPatientRequest,
) -> Result<PatientView, AppError> {
    if let Some(auth) = by {
        auth.require_staff(clinic)?;
    }
    let identity = PatientIdentity::parse(
        &req.full_name,
        opt_nonempty(req.social_name.as_deref()),
        &req.cpf,
        &req.birth_date,
        opt_nonempty(req.phone.as_deref()),
        state.clock.now().date_naive(),
    )?;
    let email = opt_nonempty(req.email.as_deref())
        .map(Email::parse)
        .transpose()?;
    let address = req.address.as_ref().map(Address::parse).transpose()?;
    let allergies = clinical_text(req.allergies.as_deref())?;
    let notes = clinical_text(req.notes.as_deref())?;
    let sees_notes = by.is_none_or(|a| a.has_role(clinic, &[Role::Professional]));
    if notes.is_some() && !sees_notes {
        // Clinical notes are written by professionals only (allergies by any staff).
        return Err(AppError::Forbidden);
    }
    let record = ClinicRecord {
        clinic,
        allergies_enc: state.cipher.encrypt_opt(allergies.as_deref())?,
        notes_enc: state.cipher.encrypt_opt(notes.as_deref())?,
    };
    let mut tx = state.store.begin().await?;
    let patient = register_patient(
        state,
        &mut tx,
        Registration {
            identity,
            email,
            address,
            user: None,
            clinic: Some(record),
            audit: AuditEvent::new(by.map(|a| a.user_id), "patient.registered", "patient")
                .clinic(clinic)
                .ip(by.and_then(|a| a.ip.clone())),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(PatientView {
        identity: patient.into(),
        allergies,
        notes: if sees_notes { notes } else { None },
    })
}

/// A staff read of patient data, in the audit log.
async fn audit_read(
    state: &AppState,
    auth: &Auth,
    action: &'static str,
    clinic: ClinicId,
    entity_id: Option<PatientId>,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let mut ev = AuditEvent::new(Some(auth.user_id), action, "patient")
        .clinic(clinic)
        .ip(auth.ip.clone())
        .details(details);
    if let Some(id) = entity_id {
        ev = ev.entity_id(id);
    }
    state.store.record_audit(&ev).await?;
    Ok(())
}

/// Up to 100 of a clinic's patients whose name, social name or CPF contains `q`,
/// identity only (clinical text is not listed).
pub async fn list_patients(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    q: Option<&str>,
) -> Result<Vec<PatientView>, AppError> {
    auth.require_staff(clinic)?;
    let q = q.unwrap_or("").trim();
    if q.chars().count() > 100 {
        return Err(ValidationError::new("invalid_query", "busca longa demais").into());
    }
    let rows = state.store.search_clinic_patients(clinic, q, 100).await?;
    audit_read(
        state,
        auth,
        "patient.list",
        clinic,
        None,
        serde_json::json!({"q": q, "results": rows.len()}),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PatientView {
            identity: r.patient.into(),
            allergies: None,
            notes: None,
        })
        .collect())
}

/// The clinic's record of `patient`, for the clinic's staff only (404 when it is not a
/// record of this clinic).
pub async fn staff_record(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<ClinicPatientRow, AppError> {
    auth.require_staff(clinic)?;
    state
        .store
        .clinic_patient(clinic, patient)
        .await?
        .ok_or(AppError::NotFound)
}

/// A patient as the clinic sees them (notes for its professionals only).
pub async fn get_clinic_patient(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
) -> Result<PatientView, AppError> {
    let row = staff_record(state, auth, clinic, patient).await?;
    audit_read(
        state,
        auth,
        "patient.read",
        clinic,
        Some(patient),
        serde_json::json!({}),
    )
    .await?;
    let sees_notes = auth.has_role(clinic, &[Role::Professional]);
    view(state, row, sees_notes)
}

/// Change a patient's contact data and the clinic's clinical text (notes: professionals
/// only).
pub async fn update_clinic_patient(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    body: &UpdatePatientRequest,
) -> Result<PatientView, AppError> {
    auth.require_staff(clinic)?;
    let is_professional = auth.has_role(clinic, &[Role::Professional]);
    if body.notes.is_some() && !is_professional {
        return Err(AppError::Forbidden);
    }
    let mut row = state
        .store
        .clinic_patient(clinic, patient)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut changed: Vec<&str> = Vec::new();
    if let Some(s) = &body.social_name {
        row.patient.social_name = opt_nonempty(Some(s))
            .map(PersonName::parse)
            .transpose()?
            .map(PersonName::into_inner);
        changed.push("social_name");
    }
    if let Some(p) = &body.phone {
        row.patient.phone = opt_nonempty(Some(p))
            .map(Phone::parse)
            .transpose()?
            .map(Phone::into_inner);
        changed.push("phone");
    }
    if let Some(e) = &body.email {
        row.patient.email = opt_nonempty(Some(e))
            .map(Email::parse)
            .transpose()?
            .map(Email::into_inner);
        changed.push("email");
    }
    if let Some(a) = &body.address {
        row.patient.address = a.as_ref().map(Address::parse).transpose()?;
        changed.push("address");
    }
    if let Some(a) = &body.allergies {
        row.allergies_enc = state
            .cipher
            .encrypt_opt(clinical_text(Some(a))?.as_deref())?;
        changed.push("allergies");
    }
    if let Some(n) = &body.notes {
        row.notes_enc = state
            .cipher
            .encrypt_opt(clinical_text(Some(n))?.as_deref())?;
        changed.push("notes");
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .update_clinic_patient(&mut tx, &row, clinic)
        .await?;
    if body.address.is_some() {
        state
            .store
            .set_patient_address(&mut tx, patient, row.patient.address.as_ref())
            .await?;
    }
    state
        .store
        .append_audit(
            &mut tx,
            &AuditEvent::new(Some(auth.user_id), "patient.updated", "patient")
                .entity_id(patient)
                .clinic(clinic)
                .ip(auth.ip.clone())
                .details(serde_json::json!({"fields": changed})),
        )
        .await?;
    tx.commit().await?;
    view(state, row, is_professional)
}

/// The caller's own record, if they are a patient.
pub async fn my_record(state: &AppState, auth: &Auth) -> Result<PatientIdentityView, AppError> {
    let row = state
        .store
        .patient_by_user(auth.user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(PatientIdentityView::from(row))
}

/// A patient record's identity: for its patient (their profile or a record linked to
/// their account), or staff of the clinic that owns it (audited).
pub async fn get_patient(
    state: &AppState,
    auth: &Auth,
    id: PatientId,
) -> Result<PatientIdentityView, AppError> {
    if auth.owns_patient(id) {
        let row = state
            .store
            .patient_by_id(id)
            .await?
            .ok_or(AppError::NotFound)?;
        return Ok(PatientIdentityView::from(row));
    }
    let clinics = state.store.clinics_of_patient(id).await?;
    let Some(clinic) = clinics.into_iter().find(|c| auth.is_staff_of(*c)) else {
        return Err(AppError::Forbidden);
    };
    let row = state
        .store
        .patient_by_id(id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit_read(
        state,
        auth,
        "patient.read",
        clinic,
        Some(id),
        serde_json::json!({"view": "identity"}),
    )
    .await?;
    Ok(PatientIdentityView::from(row))
}

/// A patient sets or removes the address on a record that is theirs: their own profile or
/// a clinic's record linked to their account (the clinic sees the change; it is audited
/// under that clinic).
pub async fn set_my_address(
    state: &AppState,
    auth: &Auth,
    id: PatientId,
    body: &AddressRequest,
) -> Result<PatientIdentityView, AppError> {
    if !auth.owns_patient(id) {
        return Err(AppError::Forbidden);
    }
    let address = body
        .address
        .as_ref()
        .and_then(Option::as_ref)
        .map(Address::parse)
        .transpose()?;
    let mut row = state
        .store
        .patient_by_id(id)
        .await?
        .ok_or(AppError::NotFound)?;
    let clinics = state.store.clinics_of_patient(id).await?;
    let mut ev = AuditEvent::new(Some(auth.user_id), "patient.updated", "patient")
        .entity_id(id)
        .ip(auth.ip.clone())
        .details(serde_json::json!({"fields": ["address"], "by": "patient"}));
    if let Some(c) = clinics.first() {
        ev = ev.clinic(*c);
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .set_patient_address(&mut tx, id, address.as_ref())
        .await?;
    state.store.append_audit(&mut tx, &ev).await?;
    tx.commit().await?;
    row.address = address;
    Ok(PatientIdentityView::from(row))
}
