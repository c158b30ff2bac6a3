//! The record's problem list, vital signs and medications in use (the prescriptions issued
//! for the patient, and the stops marked on their medicines). Clinical values arrive
//! already encrypted (`*_enc`); rows are never deleted (the tables' triggers refuse it too).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::record::ProblemStatus;
use crate::domain::{ClinicId, PatientId, UserId};

/// A problem of the problem list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProblemRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub code_enc: String,
    pub notes_enc: String,
    #[sqlx(try_from = "String")]
    pub status: ProblemStatus,
    pub onset_date: Option<NaiveDate>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub recorded_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_by: UserId,
    pub updated_at: DateTime<Utc>,
    /// Not a column: who recorded it (joined).
    #[sqlx(default)]
    pub recorded_by_name: String,
}

/// One set of vital signs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VitalsRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub values_enc: String,
    pub notes_enc: String,
    pub measured_at: DateTime<Utc>,
    pub recorded_by: UserId,
    pub created_at: DateTime<Utc>,
    /// Not a column: who recorded it (joined).
    #[sqlx(default)]
    pub recorded_by_name: String,
}

/// A prescription issued for the patient (either kind), not revoked nor failed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PrescriptionRow {
    pub id: uuid::Uuid,
    pub content_enc: String,
    pub created_at: DateTime<Utc>,
    pub professional_name: String,
}

/// A signed document of the record, with who signed it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SignedDocumentRow {
    pub id: uuid::Uuid,
    pub kind: String,
    /// The verification code printed on it.
    pub code: String,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub author_user_id: UserId,
    pub author_name: String,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
}

/// A medicine of a prescription marked as stopped.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MedicationStopRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub document_id: uuid::Uuid,
    pub item: i32,
    pub reason_enc: String,
    pub stopped_by: UserId,
    pub stopped_at: DateTime<Utc>,
    /// Not a column: who stopped it (joined).
    #[sqlx(default)]
    pub stopped_by_name: String,
}

const PROBLEM_SQL: &str = "SELECT p.id, p.clinic_id, p.patient_id, p.code_enc, p.notes_enc,
    p.status, p.onset_date, p.resolved_at, p.recorded_by, p.created_at, p.updated_by,
    p.updated_at, u.full_name_enc AS recorded_by_name
    FROM problems p JOIN users u ON u.id = p.recorded_by";

const VITALS_SQL: &str = "SELECT v.id, v.clinic_id, v.patient_id, v.values_enc, v.notes_enc,
    v.measured_at, v.recorded_by, v.created_at, u.full_name_enc AS recorded_by_name
    FROM vital_signs v JOIN users u ON u.id = v.recorded_by";

impl Store {
    pub async fn insert_problem(&self, tx: &mut Tx, p: &ProblemRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO problems (id, clinic_id, patient_id, code_enc, notes_enc, status,
                    onset_date, resolved_at, recorded_by, created_at, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(p.id)
            .bind(p.clinic_id)
            .bind(p.patient_id)
            .bind(&p.code_enc)
            .bind(&p.notes_enc)
            .bind(p.status.as_str())
            .bind(p.onset_date)
            .bind(p.resolved_at)
            .bind(p.recorded_by)
            .bind(p.created_at)
            .bind(p.updated_by)
            .bind(p.updated_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// The record's problems, oldest first.
    pub async fn problems_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<ProblemRow>, StoreError> {
        let sql = format!(
            "{PROBLEM_SQL} WHERE p.clinic_id = $1 AND p.patient_id = $2 ORDER BY p.created_at, p.id"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ProblemRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(patient)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.recorded_by_name)
    }

    pub async fn problem(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        id: uuid::Uuid,
    ) -> Result<Option<ProblemRow>, StoreError> {
        let sql =
            format!("{PROBLEM_SQL} WHERE p.id = $1 AND p.clinic_id = $2 AND p.patient_id = $3");
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, ProblemRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(clinic)
                .bind(patient)
                .fetch_optional(p)
                .await?
        });
        self.open_name_opt(rows, |r| &mut r.recorded_by_name)
    }

    /// Set a problem's status (and when it was resolved, or none when it is active again).
    pub async fn set_problem_status(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        status: ProblemStatus,
        resolved_at: Option<DateTime<Utc>>,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE problems SET status = $1, resolved_at = $2, updated_by = $3,
                    updated_at = $4 WHERE id = $5",
            )
            .bind(status.as_str())
            .bind(resolved_at)
            .bind(by)
            .bind(now)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    pub async fn insert_vitals(&self, tx: &mut Tx, v: &VitalsRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO vital_signs (id, clinic_id, patient_id, values_enc, notes_enc,
                    measured_at, recorded_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(v.id)
            .bind(v.clinic_id)
            .bind(v.patient_id)
            .bind(&v.values_enc)
            .bind(&v.notes_enc)
            .bind(v.measured_at)
            .bind(v.recorded_by)
            .bind(v.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// The record's vital signs measured before `before`, newest first (at most `limit`).
    pub async fn vitals_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<VitalsRow>, StoreError> {
        let sql = format!(
            "{VITALS_SQL} WHERE v.clinic_id = $1 AND v.patient_id = $2 AND v.measured_at < $3
             ORDER BY v.measured_at DESC, v.id DESC LIMIT $4"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, VitalsRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(patient)
                .bind(before)
                .bind(limit)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.recorded_by_name)
    }

    /// The prescriptions issued for the patient by the clinic, newest first (at most
    /// `limit`): revoked and failed ones left out.
    pub async fn prescriptions_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        limit: i64,
    ) -> Result<Vec<PrescriptionRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PrescriptionRow>(
                "SELECT d.id, d.content_enc, d.created_at, u.full_name_enc AS professional_name
                 FROM documents d JOIN professionals pr ON pr.id = d.professional_id
                 JOIN users u ON u.id = pr.user_id
                 WHERE d.clinic_id = $1 AND d.patient_id = $2
                   AND d.kind IN ('prescription', 'special_prescription')
                   AND d.revoked_at IS NULL AND d.status <> 'failed'
                 ORDER BY d.created_at DESC, d.id DESC LIMIT $3",
            )
            .bind(clinic)
            .bind(patient)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.professional_name)
    }

    /// The stops marked on the record's medicines.
    pub async fn medication_stops_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<MedicationStopRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, MedicationStopRow>(
                "SELECT m.id, m.clinic_id, m.patient_id, m.document_id, m.item, m.reason_enc,
                    m.stopped_by, m.stopped_at, u.full_name_enc AS stopped_by_name
                 FROM medication_stops m JOIN users u ON u.id = m.stopped_by
                 WHERE m.clinic_id = $1 AND m.patient_id = $2",
            )
            .bind(clinic)
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.stopped_by_name)
    }

    /// Mark a medicine stopped (`Conflict("document_id")` when it already is).
    pub async fn insert_medication_stop(
        &self,
        tx: &mut Tx,
        m: &MedicationStopRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO medication_stops (id, clinic_id, patient_id, document_id, item,
                    reason_enc, stopped_by, stopped_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(m.id)
            .bind(m.clinic_id)
            .bind(m.patient_id)
            .bind(m.document_id)
            .bind(m.item)
            .bind(&m.reason_enc)
            .bind(m.stopped_by)
            .bind(m.stopped_at)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["document_id"]))?;
        });
        Ok(())
    }

    /// The documents signed for the patient by the clinic and not revoked, oldest first,
    /// with their author's council registration (the FHIR export's document references).
    pub async fn signed_documents_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<SignedDocumentRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, SignedDocumentRow>(
                "SELECT d.id, d.kind, d.code, d.created_at, d.signed_at,
                    pr.user_id AS author_user_id, u.full_name_enc AS author_name,
                    pr.council, pr.council_number, pr.council_uf
                 FROM documents d JOIN professionals pr ON pr.id = d.professional_id
                 JOIN users u ON u.id = pr.user_id
                 WHERE d.clinic_id = $1 AND d.patient_id = $2
                   AND d.status = 'signed' AND d.revoked_at IS NULL
                 ORDER BY d.created_at, d.id",
            )
            .bind(clinic)
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.author_name)
    }
}
