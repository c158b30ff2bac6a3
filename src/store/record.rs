//! The clinical record: encounters, addenda, allergies and break-the-glass grants. Every
//! clinical text arrives here already encrypted (`*_enc`). There is no delete: the record
//! is kept whole (the tables' triggers refuse a DELETE too, and any change to a locked
//! encounter or to an addendum).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::record::{AllergyStatus, EncounterStatus, Severity};
use crate::domain::{ClinicId, PatientId, ProfessionalId, UserId};

/// An encounter as stored, with its author's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EncounterRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub professional_id: ProfessionalId,
    pub author_user_id: UserId,
    pub appointment_id: Option<uuid::Uuid>,
    pub psychology: bool,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
    pub content_enc: String,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub status: EncounterStatus,
    pub lock_kind: Option<String>,
    pub locked_at: Option<DateTime<Utc>>,
    pub locked_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Not a column of `encounters`: the author's name (joined).
    #[sqlx(default)]
    pub author_name: String,
    /// Not a column: the clinic's name (joined).
    #[sqlx(default)]
    pub clinic_name: String,
}

/// An addendum to a locked encounter.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AddendumRow {
    pub id: uuid::Uuid,
    pub encounter_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub author_user_id: UserId,
    pub council: Option<String>,
    pub council_number: Option<String>,
    pub council_uf: Option<String>,
    pub text_enc: String,
    pub created_at: DateTime<Utc>,
    /// Not a column: the author's name (joined).
    #[sqlx(default)]
    pub author_name: String,
    /// Not a column: whether the encounter is a psychology note, and its author (joined).
    #[sqlx(default)]
    pub encounter_psychology: bool,
    #[sqlx(default)]
    pub encounter_author: Option<UserId>,
}

/// An allergy or intolerance of a patient record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AllergyRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub substance_enc: String,
    pub reaction_enc: String,
    #[sqlx(try_from = "String")]
    pub severity: Severity,
    #[sqlx(try_from = "String")]
    pub status: AllergyStatus,
    pub recorded_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_by: UserId,
    pub updated_at: DateTime<Utc>,
    /// Not a column: who recorded it (joined).
    #[sqlx(default)]
    pub recorded_by_name: String,
}

/// A document issued for the patient, as the timeline lists it (no content).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TimelineDocumentRow {
    pub id: uuid::Uuid,
    pub kind: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub professional_name: String,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
}

/// A break-the-glass opening as the clinic's admins review it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessGrantView {
    pub id: uuid::Uuid,
    pub patient_id: PatientId,
    pub patient_name: String,
    pub user_id: UserId,
    pub user_name: String,
    pub reason_enc: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A break-the-glass opening of a record.
#[derive(Debug, Clone)]
pub struct AccessGrantRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub user_id: UserId,
    pub reason_enc: String,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

const ENCOUNTER_SQL: &str = "SELECT e.id, e.clinic_id, e.patient_id, e.professional_id,
    e.author_user_id, e.appointment_id, e.psychology, e.council, e.council_number, e.council_uf,
    e.content_enc, e.version, e.status, e.lock_kind, e.locked_at, e.locked_by, e.created_at,
    e.updated_at, u.full_name_enc AS author_name, c.name AS clinic_name
    FROM encounters e JOIN users u ON u.id = e.author_user_id JOIN clinics c ON c.id = e.clinic_id";

const ADDENDUM_SQL: &str = "SELECT a.id, a.encounter_id, a.clinic_id, a.patient_id,
    a.author_user_id, a.council, a.council_number, a.council_uf, a.text_enc, a.created_at,
    u.full_name_enc AS author_name, e.psychology AS encounter_psychology,
    e.author_user_id AS encounter_author
    FROM encounter_addenda a JOIN users u ON u.id = a.author_user_id
    JOIN encounters e ON e.id = a.encounter_id";

const ALLERGY_SQL: &str = "SELECT a.id, a.clinic_id, a.patient_id, a.substance_enc,
    a.reaction_enc, a.severity, a.status, a.recorded_by, a.created_at, a.updated_by, a.updated_at,
    u.full_name_enc AS recorded_by_name
    FROM allergies a JOIN users u ON u.id = a.recorded_by";

impl Store {
    pub async fn insert_encounter(&self, tx: &mut Tx, e: &EncounterRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO encounters (id, clinic_id, patient_id, professional_id, author_user_id,
                    appointment_id, psychology, council, council_number, council_uf, content_enc,
                    version, status, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(e.id)
            .bind(e.clinic_id)
            .bind(e.patient_id)
            .bind(e.professional_id)
            .bind(e.author_user_id)
            .bind(e.appointment_id)
            .bind(e.psychology)
            .bind(&e.council)
            .bind(&e.council_number)
            .bind(&e.council_uf)
            .bind(&e.content_enc)
            .bind(e.version)
            .bind(e.status.as_str())
            .bind(e.created_at)
            .bind(e.updated_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// One encounter of one patient record.
    pub async fn encounter(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        id: uuid::Uuid,
    ) -> Result<Option<EncounterRow>, StoreError> {
        let sql =
            format!("{ENCOUNTER_SQL} WHERE e.id = $1 AND e.clinic_id = $2 AND e.patient_id = $3");
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, EncounterRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(clinic)
                .bind(patient)
                .fetch_optional(p)
                .await?
        });
        self.open_name_opt(rows, |r| &mut r.author_name)
    }

    /// The record's encounters created before `before` that `viewer` may read (psychology
    /// notes only their author), newest first.
    pub async fn encounters_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        viewer: UserId,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<EncounterRow>, StoreError> {
        let sql = format!(
            "{ENCOUNTER_SQL} WHERE e.clinic_id = $1 AND e.patient_id = $2 AND e.created_at < $3
               AND (e.psychology = $5 OR e.author_user_id = $6)
             ORDER BY e.created_at DESC, e.id DESC LIMIT $4"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, EncounterRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(patient)
                .bind(before)
                .bind(limit)
                .bind(false)
                .bind(viewer)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.author_name)
    }

    /// The locked encounters of a patient record in every clinic, newest first (what the
    /// patient reads in their portal; psychology notes are filtered by the caller).
    pub async fn locked_encounters_of_patient(
        &self,
        patient: PatientId,
    ) -> Result<Vec<EncounterRow>, StoreError> {
        let sql = format!(
            "{ENCOUNTER_SQL} WHERE e.patient_id = $1 AND e.status = 'locked'
             ORDER BY e.created_at DESC LIMIT 500"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, EncounterRow>(sqlx::AssertSqlSafe(sql))
                .bind(patient)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.author_name)
    }

    /// Save a draft's content if it is still a draft at `expected` version; the new
    /// version, or `None` when it is locked or at another version (nothing written).
    pub async fn save_encounter_draft(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        expected: i64,
        content_enc: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query(
                "UPDATE encounters SET content_enc = $1, version = version + 1, updated_at = $2
                 WHERE id = $3 AND version = $4 AND status = 'draft'",
            )
            .bind(content_enc)
            .bind(now)
            .bind(id)
            .bind(expected)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        Ok((done == 1).then_some(expected + 1))
    }

    /// The encounter's current (status, version), read inside `tx`.
    pub async fn encounter_state_tx(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<Option<(EncounterStatus, i64)>, StoreError> {
        let row: Option<(String, i64)> = on_tx!(tx, t => {
            sqlx::query_as("SELECT status, version FROM encounters WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        });
        Ok(row.and_then(|(s, v)| EncounterStatus::parse(&s).ok().map(|s| (s, v))))
    }

    /// Lock a draft: signed by `by` (`kind` = "signed") or by time ("auto", `by` none).
    /// False when it was not a draft.
    pub async fn lock_encounter(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        kind: &str,
        by: Option<UserId>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query(
                "UPDATE encounters SET status = 'locked', lock_kind = $1, locked_by = $2,
                    locked_at = $3, updated_at = $3
                 WHERE id = $4 AND status = 'draft'",
            )
            .bind(kind)
            .bind(by)
            .bind(at)
            .bind(id)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Drafts of a record created at or before `cutoff` (due to lock by themselves).
    pub async fn due_drafts(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<(uuid::Uuid, DateTime<Utc>)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, created_at FROM encounters
                 WHERE clinic_id = $1 AND patient_id = $2 AND status = 'draft' AND created_at <= $3",
            )
            .bind(clinic)
            .bind(patient)
            .bind(cutoff)
            .fetch_all(p)
            .await?
        }))
    }

    /// Drafts anywhere created at or before `cutoff`, oldest first (for the patient portal).
    pub async fn due_drafts_of_patient(
        &self,
        patient: PatientId,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<(uuid::Uuid, DateTime<Utc>)>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, created_at FROM encounters
                 WHERE patient_id = $1 AND status = 'draft' AND created_at <= $2",
            )
            .bind(patient)
            .bind(cutoff)
            .fetch_all(p)
            .await?
        }))
    }

    pub async fn insert_addendum(&self, tx: &mut Tx, a: &AddendumRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO encounter_addenda (id, encounter_id, clinic_id, patient_id,
                    author_user_id, council, council_number, council_uf, text_enc, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(a.id)
            .bind(a.encounter_id)
            .bind(a.clinic_id)
            .bind(a.patient_id)
            .bind(a.author_user_id)
            .bind(&a.council)
            .bind(&a.council_number)
            .bind(&a.council_uf)
            .bind(&a.text_enc)
            .bind(a.created_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// An encounter's addenda, oldest first.
    pub async fn addenda_of_encounter(
        &self,
        encounter: uuid::Uuid,
    ) -> Result<Vec<AddendumRow>, StoreError> {
        let sql = format!("{ADDENDUM_SQL} WHERE a.encounter_id = $1 ORDER BY a.created_at, a.id");
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AddendumRow>(sqlx::AssertSqlSafe(sql))
                .bind(encounter)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.author_name)
    }

    /// The record's addenda written before `before` that `viewer` may read (those of a
    /// psychology note only its author), newest first.
    pub async fn addenda_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        viewer: UserId,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AddendumRow>, StoreError> {
        let sql = format!(
            "{ADDENDUM_SQL} WHERE a.clinic_id = $1 AND a.patient_id = $2 AND a.created_at < $3
               AND (e.psychology = $5 OR e.author_user_id = $6)
             ORDER BY a.created_at DESC, a.id DESC LIMIT $4"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AddendumRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(patient)
                .bind(before)
                .bind(limit)
                .bind(false)
                .bind(viewer)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.author_name)
    }

    /// Documents issued for the patient by the clinic before `before`, newest first.
    pub async fn documents_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TimelineDocumentRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, TimelineDocumentRow>(
                "SELECT d.id, d.kind, d.status, d.created_at, d.revoked_at,
                    u.full_name_enc AS professional_name, pr.council, pr.council_number, pr.council_uf
                 FROM documents d JOIN professionals pr ON pr.id = d.professional_id
                 JOIN users u ON u.id = pr.user_id
                 WHERE d.clinic_id = $1 AND d.patient_id = $2 AND d.created_at < $3
                 ORDER BY d.created_at DESC, d.id DESC LIMIT $4",
            )
            .bind(clinic)
            .bind(patient)
            .bind(before)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.professional_name)
    }

    pub async fn insert_allergy(&self, tx: &mut Tx, a: &AllergyRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO allergies (id, clinic_id, patient_id, substance_enc, reaction_enc,
                    severity, status, recorded_by, created_at, updated_by, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(a.id)
            .bind(a.clinic_id)
            .bind(a.patient_id)
            .bind(&a.substance_enc)
            .bind(&a.reaction_enc)
            .bind(a.severity.as_str())
            .bind(a.status.as_str())
            .bind(a.recorded_by)
            .bind(a.created_at)
            .bind(a.updated_by)
            .bind(a.updated_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// The record's allergies, oldest first.
    pub async fn allergies_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<AllergyRow>, StoreError> {
        let sql = format!(
            "{ALLERGY_SQL} WHERE a.clinic_id = $1 AND a.patient_id = $2 ORDER BY a.created_at, a.id"
        );
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AllergyRow>(sqlx::AssertSqlSafe(sql))
                .bind(clinic)
                .bind(patient)
                .fetch_all(p)
                .await?
        });
        self.open_names(rows, |r| &mut r.recorded_by_name)
    }

    pub async fn allergy(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        id: uuid::Uuid,
    ) -> Result<Option<AllergyRow>, StoreError> {
        let sql =
            format!("{ALLERGY_SQL} WHERE a.id = $1 AND a.clinic_id = $2 AND a.patient_id = $3");
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AllergyRow>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(clinic)
                .bind(patient)
                .fetch_optional(p)
                .await?
        });
        self.open_name_opt(rows, |r| &mut r.recorded_by_name)
    }

    pub async fn set_allergy_status(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        status: AllergyStatus,
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE allergies SET status = $1, updated_by = $2, updated_at = $3 WHERE id = $4",
            )
            .bind(status.as_str())
            .bind(by)
            .bind(now)
            .bind(id)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Whether `user` has a care relationship with the record: an appointment with the
    /// patient in the clinic (past or future, not cancelled nor a waitlist hold) or an
    /// encounter they wrote.
    pub async fn has_care_relationship(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let row: (i32,) = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM appointments
                        WHERE clinic_id = $1 AND patient_id = $2 AND professional_user_id = $3
                          AND status NOT IN ('cancelled', 'held'))
                    OR EXISTS (SELECT 1 FROM encounters
                        WHERE clinic_id = $1 AND patient_id = $2 AND author_user_id = $3)
                    THEN 1 ELSE 0 END",
            )
            .bind(clinic)
            .bind(patient)
            .bind(user)
            .fetch_one(p)
            .await?
        });
        Ok(row.0 == 1)
    }

    /// When `user`'s latest break-the-glass opening of the record ends, if it is still open.
    pub async fn access_grant_until(
        &self,
        clinic: ClinicId,
        patient: PatientId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(DateTime<Utc>,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT expires_at FROM record_access_grants
                 WHERE clinic_id = $1 AND patient_id = $2 AND user_id = $3 AND expires_at > $4
                 ORDER BY expires_at DESC LIMIT 1",
            )
            .bind(clinic)
            .bind(patient)
            .bind(user)
            .bind(now)
            .fetch_optional(p)
            .await?
        });
        Ok(row.map(|r| r.0))
    }

    pub async fn insert_access_grant(
        &self,
        tx: &mut Tx,
        g: &AccessGrantRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO record_access_grants (id, clinic_id, patient_id, user_id, reason_enc,
                    granted_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(g.id)
            .bind(g.clinic_id)
            .bind(g.patient_id)
            .bind(g.user_id)
            .bind(&g.reason_enc)
            .bind(g.granted_at)
            .bind(g.expires_at)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// The clinic's break-the-glass openings, newest first (at most `limit`).
    pub async fn access_grants_of_clinic(
        &self,
        clinic: ClinicId,
        limit: i64,
    ) -> Result<Vec<AccessGrantView>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, AccessGrantView>(
                "SELECT g.id, g.patient_id, COALESCE(p.social_name_enc, p.full_name_enc) AS patient_name,
                    g.user_id, u.full_name_enc AS user_name, g.reason_enc, g.granted_at, g.expires_at
                 FROM record_access_grants g JOIN patients p ON p.id = g.patient_id
                 JOIN users u ON u.id = g.user_id
                 WHERE g.clinic_id = $1 ORDER BY g.granted_at DESC LIMIT $2",
            )
            .bind(clinic)
            .bind(limit)
            .fetch_all(p)
            .await?
        });
        rows.into_iter()
            .map(|mut g| {
                g.patient_name = self.unseal(std::mem::take(&mut g.patient_name))?;
                g.user_name = self.unseal(std::mem::take(&mut g.user_name))?;
                Ok(g)
            })
            .collect()
    }
}
