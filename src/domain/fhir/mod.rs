//! A patient's clinical record as a FHIR R4 `Bundle` (type `collection`): the shape Brazil's
//! national health data network (RNDS) exchanges, for LGPD data portability (art. 18 V)
//! and for moving to another system. Pure: the caller gathers what the reader may see
//! (locked encounters only, no psychology notes) and this module only writes it down.
//!
//! Every resource is addressed by a `urn:uuid:` full URL and referenced by it, so the
//! bundle stands alone. Resources that have their own row use its id; those that do not
//! (a diagnosis inside an encounter, one measurement of a set of vital signs, one medicine
//! of a prescription) get a name-based UUID (version 5) derived from their row's id, so the
//! same record exported twice gives the same ids. Codes and systems are listed in
//! `docs/fhir.md`.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};
use sha1::{Digest as _, Sha1};

mod observations;

use super::record::{AllergyStatus, ProblemStatus, Severity};
use super::vitals::Vitals;

/// RNDS naming system of the CPF (the patient's identifier).
pub const CPF_SYSTEM: &str = "http://rnds.saude.gov.br/fhir/r4/NamingSystem/cpf";
/// RNDS naming system of the CNPJ (the clinic's identifier).
pub const CNPJ_SYSTEM: &str = "http://rnds.saude.gov.br/fhir/r4/NamingSystem/cnpj";
/// The CID-10 code system as RNDS profiles bind it (`BRCID10`).
pub const CID10_SYSTEM: &str = "http://www.saude.gov.br/fhir/r4/CodeSystem/BRCID10";
pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const ALLERGY_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";

/// The patient record's person.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: uuid::Uuid,
    pub full_name: String,
    /// Nome social: written as the `usual` name.
    pub social_name: Option<String>,
    /// CPF, digits only.
    pub cpf: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<crate::domain::Address>,
}

/// The clinic that holds the record.
#[derive(Debug, Clone)]
pub struct Clinic {
    pub id: uuid::Uuid,
    pub name: String,
    /// CNPJ as stored (punctuation is dropped).
    pub cnpj: String,
}

/// A council registration (`CRM 123456/SP`).
#[derive(Debug, Clone)]
pub struct Registration {
    pub council: String,
    pub number: String,
    pub uf: String,
}

/// Someone who wrote in the record, keyed by their user id.
#[derive(Debug, Clone)]
pub struct Practitioner {
    pub user_id: uuid::Uuid,
    pub name: String,
    /// Known for encounter and document authors; absent for a list entry's recorder when
    /// they wrote nothing else.
    pub registration: Option<Registration>,
}

/// A CID-10 code with its description in the table, and the professional's words.
#[derive(Debug, Clone)]
pub struct Coded {
    pub code: String,
    pub display: String,
    pub text: String,
}

/// A locked encounter.
#[derive(Debug, Clone)]
pub struct Encounter {
    pub id: uuid::Uuid,
    pub author: uuid::Uuid,
    /// The appointment's time when it was started from one, else when it was written.
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// A teleconsultation (class `VR`), else in person (`AMB`).
    pub remote: bool,
    pub chief_complaint: String,
    pub diagnoses: Vec<Coded>,
    /// When it was locked (the diagnoses' recorded date).
    pub locked_at: DateTime<Utc>,
}

/// An entry of the problem list.
#[derive(Debug, Clone)]
pub struct Problem {
    pub id: uuid::Uuid,
    pub code: Coded,
    pub status: ProblemStatus,
    pub onset: Option<NaiveDate>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub recorded_by: uuid::Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// An allergy or intolerance.
#[derive(Debug, Clone)]
pub struct Allergy {
    pub id: uuid::Uuid,
    pub substance: String,
    pub reaction: String,
    pub severity: Severity,
    pub status: AllergyStatus,
    pub recorded_by: uuid::Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// One medicine of a prescription issued here, in use or stopped.
#[derive(Debug, Clone)]
pub struct Medication {
    /// The prescription (a document) and the medicine's position in it.
    pub document_id: uuid::Uuid,
    pub item: usize,
    /// Name, concentration and form, as prescribed.
    pub text: String,
    pub instructions: String,
    pub prescribed_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

/// One set of vital signs taken together.
#[derive(Debug, Clone)]
pub struct VitalSigns {
    pub id: uuid::Uuid,
    pub measured_at: DateTime<Utc>,
    pub values: Vitals,
    pub bmi: Option<f64>,
    pub recorded_by: uuid::Uuid,
}

/// A signed document issued for the patient.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: uuid::Uuid,
    /// `prescription`, `special_prescription`, `certificate`, `exam_request`.
    pub kind: String,
    /// The verification code printed on it.
    pub code: String,
    pub signed_at: DateTime<Utc>,
    pub author: uuid::Uuid,
    /// The public verification URL (the one in its QR code).
    pub url: String,
}

/// One clinic's record of the patient (or an account's own profile, with no clinic and
/// nothing clinical).
#[derive(Debug, Clone)]
pub struct Record {
    pub person: Person,
    pub clinic: Option<Clinic>,
    pub encounters: Vec<Encounter>,
    pub problems: Vec<Problem>,
    pub allergies: Vec<Allergy>,
    pub medications: Vec<Medication>,
    pub vitals: Vec<VitalSigns>,
    pub documents: Vec<Document>,
}

/// The whole export: the records and everyone who wrote in them.
#[derive(Debug, Clone)]
pub struct Export {
    pub generated_at: DateTime<Utc>,
    pub records: Vec<Record>,
    pub practitioners: Vec<Practitioner>,
}

/// A name-based id for something inside a row (version 5, the row's id as namespace).
pub fn derived_id(base: uuid::Uuid, name: &str) -> uuid::Uuid {
    let mut h = Sha1::new();
    h.update(base.as_bytes());
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

fn urn(id: uuid::Uuid) -> String {
    format!("urn:uuid:{id}")
}

fn reference(id: uuid::Uuid) -> Value {
    json!({"reference": urn(id)})
}

/// A FHIR `dateTime`/`instant`: UTC, whole seconds.
fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}]})
}

fn entry(id: uuid::Uuid, mut resource: Value) -> Value {
    resource["id"] = json!(id.to_string());
    json!({"fullUrl": urn(id), "resource": resource})
}

/// The bundle (type `collection`): Organization and Patient first, then each record's
/// resources, then the practitioners they reference.
pub fn bundle(export: &Export, bundle_id: uuid::Uuid) -> Value {
    let mut entries = Vec::new();
    for r in &export.records {
        record_entries(r, &mut entries);
    }
    let referenced = referenced_practitioners(export);
    for p in export
        .practitioners
        .iter()
        .filter(|p| referenced.contains(&p.user_id))
    {
        entries.push(entry(p.user_id, practitioner(p)));
    }
    json!({
        "resourceType": "Bundle",
        "id": bundle_id.to_string(),
        "meta": {"lastUpdated": instant(export.generated_at)},
        "type": "collection",
        "timestamp": instant(export.generated_at),
        "entry": entries,
    })
}

/// Who the resources reference, so that every practitioner written is one referenced.
fn referenced_practitioners(export: &Export) -> Vec<uuid::Uuid> {
    let mut ids = Vec::new();
    for r in &export.records {
        ids.extend(r.encounters.iter().map(|e| e.author));
        ids.extend(r.problems.iter().map(|p| p.recorded_by));
        ids.extend(r.allergies.iter().map(|a| a.recorded_by));
        ids.extend(r.vitals.iter().map(|v| v.recorded_by));
        ids.extend(r.documents.iter().map(|d| d.author));
    }
    ids.sort();
    ids.dedup();
    ids
}

fn record_entries(r: &Record, out: &mut Vec<Value>) {
    let patient = r.person.id;
    let org = r.clinic.as_ref().map(|c| c.id);
    if let Some(c) = &r.clinic {
        out.push(entry(c.id, organization(c)));
    }
    out.push(entry(patient, person(&r.person, org)));
    for e in &r.encounters {
        let dx: Vec<uuid::Uuid> = (0..e.diagnoses.len())
            .map(|i| derived_id(e.id, &format!("diagnosis/{i}")))
            .collect();
        out.push(entry(e.id, encounter(e, patient, org, &dx)));
        for (d, id) in e.diagnoses.iter().zip(&dx) {
            out.push(entry(*id, diagnosis(d, e, patient)));
        }
    }
    for p in &r.problems {
        out.push(entry(p.id, problem(p, patient)));
    }
    for a in &r.allergies {
        out.push(entry(a.id, allergy(a, patient)));
    }
    let documents: Vec<uuid::Uuid> = r.documents.iter().map(|d| d.id).collect();
    for m in &r.medications {
        let id = derived_id(m.document_id, &format!("medication/{}", m.item));
        out.push(entry(id, medication(m, patient, &documents)));
    }
    for v in &r.vitals {
        for (id, obs) in observations::observations(v, patient) {
            out.push(entry(id, obs));
        }
    }
    for d in &r.documents {
        out.push(entry(d.id, document(d, patient)));
    }
}

fn organization(c: &Clinic) -> Value {
    let mut o = json!({"resourceType": "Organization", "active": true, "name": c.name});
    let cnpj = digits(&c.cnpj);
    if !cnpj.is_empty() {
        o["identifier"] = json!([{"use": "official", "system": CNPJ_SYSTEM, "value": cnpj}]);
    }
    o
}

fn person(p: &Person, org: Option<uuid::Uuid>) -> Value {
    let mut names = vec![json!({"use": "official", "text": p.full_name})];
    if let Some(s) = p.social_name.as_deref().filter(|s| !s.trim().is_empty()) {
        names.push(json!({"use": "usual", "text": s}));
    }
    let mut telecom = Vec::new();
    if let Some(phone) = p.phone.as_deref().filter(|s| !s.is_empty()) {
        telecom.push(json!({"system": "phone", "value": phone, "use": "mobile"}));
    }
    if let Some(email) = p.email.as_deref().filter(|s| !s.is_empty()) {
        telecom.push(json!({"system": "email", "value": email}));
    }
    let mut out = json!({
        "resourceType": "Patient",
        "identifier": [{"use": "official", "system": CPF_SYSTEM, "value": p.cpf}],
        "name": names,
        "birthDate": p.birth_date.format("%Y-%m-%d").to_string(),
    });
    if !telecom.is_empty() {
        out["telecom"] = json!(telecom);
    }
    if let Some(a) = &p.address {
        let mut line = vec![format!("{}, {}", a.street, a.number)];
        line.extend(a.complement.clone());
        line.push(a.district.clone());
        out["address"] = json!([{"use": "home", "type": "physical", "line": line,
            "city": a.city, "state": a.uf, "postalCode": a.postal_code, "country": "BR"}]);
    }
    if let Some(org) = org {
        out["managingOrganization"] = reference(org);
    }
    out
}

fn practitioner(p: &Practitioner) -> Value {
    let mut out = json!({
        "resourceType": "Practitioner",
        "name": [{"use": "official", "text": p.name}],
    });
    if let Some(r) = &p.registration {
        // RNDS names professionals by CNS or CPF, which atende does not keep; the council
        // registration has no RNDS naming system, so its kind is said in `type`.
        out["identifier"] = json!([{
            "use": "official",
            "type": {"text": r.council},
            "value": format!("{}/{}", r.number, r.uf),
        }]);
        out["qualification"] = json!([{
            "code": {"text": format!("{} {}/{}", r.council, r.number, r.uf)},
        }]);
    }
    out
}

fn encounter(
    e: &Encounter,
    patient: uuid::Uuid,
    org: Option<uuid::Uuid>,
    dx: &[uuid::Uuid],
) -> Value {
    let class = if e.remote {
        json!({"system": ACT_CODE, "code": "VR", "display": "virtual"})
    } else {
        json!({"system": ACT_CODE, "code": "AMB", "display": "ambulatory"})
    };
    let mut period = json!({"start": instant(e.start)});
    if let Some(end) = e.end {
        period["end"] = json!(instant(end));
    }
    let mut out = json!({
        "resourceType": "Encounter",
        "status": "finished",
        "class": class,
        "subject": reference(patient),
        "participant": [{
            "type": [concept(PARTICIPATION, "PPRF", "primary performer")],
            "individual": reference(e.author),
        }],
        "period": period,
    });
    if !e.chief_complaint.trim().is_empty() {
        out["reasonCode"] = json!([{"text": e.chief_complaint}]);
    }
    if !dx.is_empty() {
        out["diagnosis"] = json!(
            dx.iter()
                .enumerate()
                .map(|(i, id)| json!({"condition": reference(*id), "rank": i + 1}))
                .collect::<Vec<_>>()
        );
    }
    if let Some(org) = org {
        out["serviceProvider"] = reference(org);
    }
    out
}

/// A CID-10 concept (FHIR forbids empty strings: a code without a known description
/// goes without `display`).
fn cid10(c: &Coded) -> Value {
    let mut coding = json!({"system": CID10_SYSTEM, "code": c.code});
    let mut out = json!({});
    if !c.display.is_empty() {
        coding["display"] = json!(c.display);
        out["text"] = json!(c.display);
    }
    out["coding"] = json!([coding]);
    out
}

/// A diagnosis of an encounter: its clinical status is not known later, so none is given
/// (FHIR requires one only on problem-list items).
fn diagnosis(d: &Coded, e: &Encounter, patient: uuid::Uuid) -> Value {
    let mut out = json!({
        "resourceType": "Condition",
        "category": [concept(CONDITION_CATEGORY, "encounter-diagnosis", "Encounter Diagnosis")],
        "code": cid10(d),
        "subject": reference(patient),
        "encounter": reference(e.id),
        "recordedDate": instant(e.locked_at),
        "recorder": reference(e.author),
    });
    if !d.text.trim().is_empty() {
        out["note"] = json!([{"text": d.text}]);
    }
    out
}

fn problem(p: &Problem, patient: uuid::Uuid) -> Value {
    let status = match p.status {
        ProblemStatus::Active => "active",
        ProblemStatus::Resolved => "resolved",
    };
    let mut out = json!({
        "resourceType": "Condition",
        "clinicalStatus": concept(CONDITION_CLINICAL, status, status),
        "category": [concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")],
        "code": cid10(&p.code),
        "subject": reference(patient),
        "recordedDate": instant(p.recorded_at),
        "recorder": reference(p.recorded_by),
    });
    if let Some(onset) = p.onset {
        out["onsetDateTime"] = json!(onset.format("%Y-%m-%d").to_string());
    }
    if let (ProblemStatus::Resolved, Some(at)) = (p.status, p.resolved_at) {
        out["abatementDateTime"] = json!(instant(at));
    }
    if !p.code.text.trim().is_empty() {
        out["note"] = json!([{"text": p.code.text}]);
    }
    out
}

fn allergy(a: &Allergy, patient: uuid::Uuid) -> Value {
    let status = match a.status {
        AllergyStatus::Active => "active",
        AllergyStatus::Inactive => "inactive",
    };
    let severity = a.severity.as_str();
    // Criticality is the potential for harm: a severe reaction counts as high.
    let criticality = if a.severity == Severity::Severe {
        "high"
    } else {
        "low"
    };
    let mut out = json!({
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": concept(ALLERGY_CLINICAL, status, status),
        "criticality": criticality,
        "code": {"text": a.substance},
        "patient": reference(patient),
        "recordedDate": instant(a.recorded_at),
        "recorder": reference(a.recorded_by),
    });
    // A reaction needs a manifestation: with none written, the severity rides on the
    // criticality alone.
    if !a.reaction.trim().is_empty() {
        out["reaction"] = json!([{
            "substance": {"text": a.substance},
            "manifestation": [{"text": a.reaction}],
            "severity": severity,
        }]);
    }
    out
}

fn medication(m: &Medication, patient: uuid::Uuid, documents: &[uuid::Uuid]) -> Value {
    let mut period = json!({"start": instant(m.prescribed_at)});
    if let Some(end) = m.stopped_at {
        period["end"] = json!(instant(end));
    }
    let mut out = json!({
        "resourceType": "MedicationStatement",
        "status": if m.stopped_at.is_some() { "stopped" } else { "active" },
        "medicationCodeableConcept": {"text": m.text},
        "subject": reference(patient),
        "effectivePeriod": period,
        "dateAsserted": instant(m.prescribed_at),
    });
    if !m.instructions.trim().is_empty() {
        out["dosage"] = json!([{"text": m.instructions}]);
    }
    // The prescription, when it is in the bundle (signed).
    if documents.contains(&m.document_id) {
        out["derivedFrom"] = json!([reference(m.document_id)]);
    }
    out
}

/// What a document kind is called (pt-BR, as printed).
pub fn document_title(kind: &str) -> &'static str {
    match kind {
        "prescription" => "Receita",
        "special_prescription" => "Receita de controle especial",
        "certificate" => "Atestado",
        "exam_request" => "Solicitação de exames",
        _ => "Documento",
    }
}

/// A signed document: described and pointed at by its public verification URL (the page
/// that shows it and offers the signed PDF), not carried inline.
fn document(d: &Document, patient: uuid::Uuid) -> Value {
    let title = document_title(&d.kind);
    let mut kind = json!({"text": title});
    if matches!(d.kind.as_str(), "prescription" | "special_prescription") {
        kind["coding"] =
            json!([{"system": LOINC, "code": "57833-6", "display": "Prescription for medication"}]);
    }
    json!({
        "resourceType": "DocumentReference",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": urn(d.id)},
        "identifier": [{"type": {"text": "código de verificação"}, "value": d.code}],
        "status": "current",
        "type": kind,
        "subject": reference(patient),
        "date": instant(d.signed_at),
        "author": [reference(d.author)],
        "description": title,
        "content": [{"attachment": {"url": d.url, "title": title, "creation": instant(d.signed_at)}}],
    })
}

#[cfg(test)]
mod tests;
