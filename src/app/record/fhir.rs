//! The record exported as a FHIR R4 Bundle (`domain::fhir` writes it): for the patient, their
//! records in every clinic (LGPD portability, art. 18 V); for a clinic, one record.
//!
//! What goes in is what the patient may read of their own record: locked encounters only
//! (a draft is not yet the professional's word), never a psychology note (its author's
//! alone, CFP 001/2009, even towards the patient and the clinic's admin), the allergy and
//! problem lists, vital signs, the medicines of the prescriptions issued here and the
//! documents signed and not revoked. Free text (history, examination, plan, evolution,
//! addenda) stays in the LGPD JSON export and the PDF: FHIR has no element for it short of
//! a narrative or a Composition.
//!
//! Who exports a clinic's record: a professional who opens it (care relationship or break
//! the glass, as every record read: audited as `record.read` with `what: fhir`), or the
//! clinic's admin answering a portability request (audited as `lgpd.exported` with the
//! legal basis and `format: fhir`, as the LGPD export). The patient's own export is
//! audited as `lgpd.exported` per record, as theirs is.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::{Value, json};

use super::{Opened, WayIn, audit_read, encounter_view, lock_due_drafts, way_in};
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::lgpd::{self, Requester};
use crate::app::state::AppState;
use crate::domain::fhir::{self, Coded, Registration};
use crate::domain::record::EncounterStatus;
use crate::domain::{ClinicId, PatientId, Role, UserId};

/// The media type of a FHIR JSON resource.
pub const CONTENT_TYPE: &str = "application/fhir+json";

/// The format named in the audit rows of an LGPD export.
const FORMAT: &str = "fhir";

/// A time after every entry (year 9999: stored times compare as text on SQLite).
fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One clinic's record of a patient as a Bundle. Refusals as every record read (403
/// `forbidden`, `no_clinical_access`, `no_care_relationship`; 404 when the clinic holds
/// no such record), except that the clinic's admin may export for a portability request
/// (`legal_basis`, default: the patient's request to the clinic).
pub async fn clinic_record(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
    patient: PatientId,
    legal_basis: Option<&str>,
) -> Result<Value, AppError> {
    let glass = match way_in(state, auth, clinic, patient).await? {
        WayIn::Care => Some(false),
        WayIn::Glass(_) => Some(true),
        WayIn::None if auth.has_role(clinic, &[Role::ClinicAdmin]) => None,
        WayIn::None => {
            return Err(AppError::forbidden(
                "no_care_relationship",
                super::NO_CARE_MESSAGE,
            ));
        }
    };
    let basis = match glass {
        Some(_) => None,
        None => Some(lgpd::legal_basis(
            legal_basis,
            Some(lgpd::CLINIC_ACCESS_BASIS),
        )?),
    };
    lock_due_drafts(state, clinic, patient).await?;
    let mut people = People::default();
    let record = gather(state, Some(clinic), patient, &mut people).await?;
    match (glass, basis) {
        (Some(glass), _) => {
            let opened = Opened {
                clinic,
                patient,
                glass,
            };
            audit_read(state, auth, opened, FORMAT, None).await?;
        }
        (None, basis) => {
            audit_export(
                state,
                Requester::ClinicAdmin(auth),
                patient,
                Some(clinic),
                basis,
            )
            .await?;
        }
    }
    Ok(bundle(state, vec![record], people))
}

/// The caller's own records, every clinic, as one Bundle (a record the caller typed at
/// sign-up has no clinic and carries only the Patient).
pub async fn my_record(state: &AppState, auth: &Auth) -> Result<Value, AppError> {
    let mut people = People::default();
    let mut records = Vec::new();
    let mut seen = HashSet::new();
    for patient in auth.patient_ids() {
        if !seen.insert(patient) {
            continue;
        }
        let clinics = state.store.clinics_of_patient(patient).await?;
        if clinics.is_empty() {
            records.push(gather(state, None, patient, &mut people).await?);
        }
        for &clinic in &clinics {
            lock_due_drafts(state, clinic, patient).await?;
            records.push(gather(state, Some(clinic), patient, &mut people).await?);
        }
        audit_export(
            state,
            Requester::Subject(auth),
            patient,
            clinics.first().copied(),
            Some(lgpd::SUBJECT_ACCESS_BASIS.to_string()),
        )
        .await?;
    }
    Ok(bundle(state, records, people))
}

fn bundle(state: &AppState, records: Vec<fhir::Record>, people: People) -> Value {
    let export = fhir::Export {
        generated_at: state.clock.now(),
        records,
        practitioners: people.0.into_values().collect(),
    };
    fhir::bundle(&export, uuid::Uuid::now_v7())
}

async fn audit_export(
    state: &AppState,
    by: Requester<'_>,
    patient: PatientId,
    clinic: Option<ClinicId>,
    basis: Option<String>,
) -> Result<(), AppError> {
    let mut ev = by
        .audit("lgpd.exported")
        .entity_id(patient)
        .details(json!({"legal_basis": basis, "format": FORMAT, "via": by.via()}));
    if let Some(c) = clinic {
        ev = ev.clinic(c);
    }
    state.store.record_audit(&ev).await?;
    Ok(())
}

/// Everyone who wrote in the exported records, by user id.
#[derive(Default)]
struct People(HashMap<uuid::Uuid, fhir::Practitioner>);

impl People {
    fn add(&mut self, user: UserId, name: &str, registration: Option<Registration>) {
        let p = self.0.entry(user.0).or_insert_with(|| fhir::Practitioner {
            user_id: user.0,
            name: name.to_string(),
            registration: None,
        });
        if p.registration.is_none() {
            p.registration = registration;
        }
    }
}

fn registration(council: &str, number: &str, uf: &str) -> Option<Registration> {
    (!council.is_empty()).then(|| Registration {
        council: council.to_string(),
        number: number.to_string(),
        uf: uf.to_string(),
    })
}

/// One record, as the patient may read it; `None` for an account's own profile.
async fn gather(
    state: &AppState,
    clinic: Option<ClinicId>,
    patient: PatientId,
    people: &mut People,
) -> Result<fhir::Record, AppError> {
    let store = &state.store;
    let row = store
        .patient_by_id(patient)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut record = fhir::Record {
        person: fhir::Person {
            id: row.id.0,
            full_name: row.full_name,
            social_name: row.social_name,
            cpf: row.cpf.chars().filter(char::is_ascii_digit).collect(),
            birth_date: row.birth_date,
            phone: row.phone,
            email: row.email,
            address: row.address,
        },
        clinic: None,
        encounters: Vec::new(),
        problems: Vec::new(),
        allergies: Vec::new(),
        medications: Vec::new(),
        vitals: Vec::new(),
        documents: Vec::new(),
    };
    let Some(clinic) = clinic else {
        return Ok(record);
    };
    record.clinic = store.clinic_by_id(clinic).await?.map(|c| fhir::Clinic {
        id: c.id.0,
        name: c.name,
        cnpj: c.cnpj,
    });
    record.encounters = encounters(state, clinic, patient, people).await?;
    for p in store.problems_of_record(clinic, patient).await? {
        let v = super::problems::view(state, &p)?;
        people.add(v.recorded_by, &v.recorded_by_name, None);
        record.problems.push(fhir::Problem {
            id: v.id,
            code: Coded {
                code: v.code.as_str().to_string(),
                display: v.description,
                text: v.notes,
            },
            status: v.status,
            onset: v.onset_date,
            resolved_at: v.resolved_at,
            recorded_by: v.recorded_by.0,
            recorded_at: v.recorded_at,
        });
    }
    for a in store.allergies_of_record(clinic, patient).await? {
        let v = super::allergies::view(state, &a)?;
        people.add(v.recorded_by, &v.recorded_by_name, None);
        record.allergies.push(fhir::Allergy {
            id: v.id,
            substance: v.substance,
            reaction: v.reaction,
            severity: v.severity,
            status: v.status,
            recorded_by: v.recorded_by.0,
            recorded_at: v.recorded_at,
        });
    }
    let mut vitals = store
        .vitals_of_record(clinic, patient, far_future(), i64::MAX)
        .await?;
    vitals.sort_by_key(|v| v.measured_at);
    for row in vitals {
        let v = super::vitals::view(state, &row)?;
        people.add(v.recorded_by, &v.recorded_by_name, None);
        record.vitals.push(fhir::VitalSigns {
            id: v.id,
            measured_at: v.measured_at,
            values: v.values,
            bmi: v.bmi,
            recorded_by: v.recorded_by.0,
        });
    }
    for m in super::medications::medications_of(state, clinic, patient).await? {
        let text = [m.name.as_str(), m.concentration.as_str(), m.form.as_str()]
            .iter()
            .filter(|s| !s.trim().is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ");
        record.medications.push(fhir::Medication {
            document_id: m.document_id,
            item: m.item,
            text,
            instructions: m.instructions,
            prescribed_at: m.prescribed_at,
            stopped_at: m.stopped_at,
        });
    }
    for d in store.signed_documents_of_record(clinic, patient).await? {
        people.add(
            d.author_user_id,
            &d.author_name,
            registration(&d.council, &d.council_number, &d.council_uf),
        );
        record.documents.push(fhir::Document {
            url: state.documents.verify_url(d.id),
            id: d.id,
            kind: d.kind,
            code: d.code,
            signed_at: d.signed_at.unwrap_or(d.created_at),
            author: d.author_user_id.0,
        });
    }
    Ok(record)
}

/// The record's locked encounters, oldest first, none of them a psychology note (asked of
/// the store as by a reader who wrote none, as the LGPD export does).
async fn encounters(
    state: &AppState,
    clinic: ClinicId,
    patient: PatientId,
    people: &mut People,
) -> Result<Vec<fhir::Encounter>, AppError> {
    let nobody = UserId(uuid::Uuid::nil());
    let appointments: HashMap<uuid::Uuid, (String, DateTime<Utc>, DateTime<Utc>)> = state
        .store
        .export_appointments(patient)
        .await?
        .into_iter()
        .map(|a| (a.id, (a.kind, a.starts_at, a.ends_at)))
        .collect();
    let mut rows = state
        .store
        .encounters_of_record(clinic, patient, nobody, far_future(), i64::MAX)
        .await?;
    rows.reverse();
    let mut out = Vec::new();
    for e in rows
        .iter()
        .filter(|e| e.status == EncounterStatus::Locked && !e.psychology)
    {
        let v = encounter_view(state, e, Vec::new())?;
        people.add(
            e.author_user_id,
            &e.author_name,
            registration(&e.council, &e.council_number, &e.council_uf),
        );
        let appointment = e.appointment_id.and_then(|id| appointments.get(&id));
        out.push(fhir::Encounter {
            id: e.id,
            author: e.author_user_id.0,
            start: appointment.map_or(e.created_at, |a| a.1),
            end: appointment.map(|a| a.2),
            remote: appointment.is_some_and(|a| a.0 == "teleconsultation"),
            chief_complaint: v.content.chief_complaint,
            diagnoses: v
                .content
                .diagnoses
                .into_iter()
                .map(|d| Coded {
                    display: if d.description.is_empty() {
                        d.code.known().unwrap_or_default().to_string()
                    } else {
                        d.description
                    },
                    code: d.code.as_str().to_string(),
                    text: d.text,
                })
                .collect(),
            locked_at: e.locked_at.unwrap_or(e.updated_at),
        });
    }
    Ok(out)
}
