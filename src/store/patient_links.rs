//! Links between accounts and clinics' patient records, and the one-time proofs that make
//! them (see `docs/security.md`, "Patient identity"). Only hashes of proofs are stored.

use chrono::{DateTime, Utc};

use super::patients::PatientRow;
use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{ClinicId, PatientId, UserId};
use crate::security::audit::AuditEvent;

/// One link (or proof, or suggestion) row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatientLinkRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    pub user_id: Option<UserId>,
    /// `suggested`, `pending`, `linked` or `revoked`.
    pub state: String,
    /// `front_desk_code`, `contact_link`, `self_service`, `suggestion` or `staff_confirmed`.
    pub method: String,
    pub code_selector: Option<String>,
    pub code_hash: Option<String>,
    pub failed_attempts: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub linked_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

impl PatientLinkRow {
    /// A new link, proof or suggestion of `clinic`'s record `patient` for the account `user`
    /// (none while a proof waits), made at `now` by `by`; no code, no expiry (callers set
    /// those their proof has). A `linked` row is linked at `now`.
    pub fn new(
        clinic: ClinicId,
        patient: PatientId,
        user: Option<UserId>,
        state: &str,
        method: &str,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7(),
            clinic_id: clinic,
            patient_id: patient,
            user_id: user,
            state: state.into(),
            method: method.into(),
            code_selector: None,
            code_hash: None,
            failed_attempts: 0,
            expires_at: None,
            created_by: by,
            created_at: now,
            updated_at: now,
            linked_at: (state == "linked").then_some(now),
            revoked_at: None,
            revoked_reason: None,
        }
    }
}

/// A link row with who is on the account side, for the clinic's staff.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PatientLinkListRow {
    #[sqlx(flatten)]
    pub link: PatientLinkRow,
    pub account_name: Option<String>,
    pub account_email: Option<String>,
}

/// A record an account is linked to, for the patient.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkedRecordRow {
    pub link_id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub patient_id: PatientId,
    pub method: String,
    pub linked_at: Option<DateTime<Utc>>,
}

/// A new record of a clinic made from an account's profile for the account's own booking
/// or waitlist entry, written in the same transaction (so a refused request leaves none).
#[derive(Debug, Clone)]
pub struct SelfServiceRecord {
    pub clinic: ClinicId,
    pub patient: PatientRow,
    /// The account's `linked` row (`self_service`), then any `suggested` rows for the
    /// clinic's existing records with the same CPF.
    pub links: Vec<PatientLinkRow>,
    /// One row per write above.
    pub audits: Vec<AuditEvent>,
}

impl Store {
    /// Write a [`SelfServiceRecord`] inside `tx`.
    pub async fn insert_self_service_record(
        &self,
        tx: &mut Tx,
        r: &SelfServiceRecord,
    ) -> Result<(), StoreError> {
        self.insert_patient(tx, &r.patient).await?;
        self.link_patient_to_clinic(tx, r.clinic, r.patient.id, None, None)
            .await?;
        for l in &r.links {
            self.insert_patient_link(tx, l).await?;
        }
        for a in &r.audits {
            self.append_audit(tx, a).await?;
        }
        Ok(())
    }

    pub async fn insert_patient_link(
        &self,
        tx: &mut Tx,
        l: &PatientLinkRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO patient_links (id, clinic_id, patient_id, user_id, state, method, code_selector,
                     code_hash, failed_attempts, expires_at, created_by, created_at, updated_at, linked_at,
                     revoked_at, revoked_reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            )
            .bind(l.id)
            .bind(l.clinic_id)
            .bind(l.patient_id)
            .bind(l.user_id)
            .bind(&l.state)
            .bind(&l.method)
            .bind(&l.code_selector)
            .bind(&l.code_hash)
            .bind(l.failed_attempts)
            .bind(l.expires_at)
            .bind(l.created_by)
            .bind(l.created_at)
            .bind(l.updated_at)
            .bind(l.linked_at)
            .bind(l.revoked_at)
            .bind(&l.revoked_reason)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["code_selector"]))?;
        });
        Ok(())
    }

    /// The proof whose public half is `selector`, locked for the rest of `tx` (PostgreSQL
    /// `FOR UPDATE`; SQLite's write transaction already excludes every other writer), so
    /// two redeems of one code cannot both win and wrong tries are all counted.
    pub async fn patient_link_by_selector(
        &self,
        tx: &mut Tx,
        selector: &str,
    ) -> Result<Option<PatientLinkRow>, StoreError> {
        Ok(match tx {
            Tx::Sqlite(super::SqliteTx { tx: t, .. }) => {
                sqlx::query_as::<_, PatientLinkRow>(
                    "SELECT * FROM patient_links WHERE code_selector = $1",
                )
                .bind(selector)
                .fetch_optional(&mut **t)
                .await?
            }
            Tx::Postgres(t) => {
                sqlx::query_as::<_, PatientLinkRow>(
                    "SELECT * FROM patient_links WHERE code_selector = $1 FOR UPDATE",
                )
                .bind(selector)
                .fetch_optional(&mut **t)
                .await?
            }
        })
    }

    pub async fn patient_link(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
    ) -> Result<Option<PatientLinkRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, PatientLinkRow>("SELECT * FROM patient_links WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut **t)
                .await?
        }))
    }

    /// The pending link whose secret hashes to `hash`, by `method` (links sent to the
    /// contact on file carry no selector: their 256-bit secret is looked up whole).
    pub async fn pending_link_by_hash(
        &self,
        tx: &mut Tx,
        hash: &str,
        method: &str,
    ) -> Result<Option<PatientLinkRow>, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_as::<_, PatientLinkRow>(
                "SELECT * FROM patient_links
                 WHERE code_hash = $1 AND method = $2 AND state = 'pending'",
            )
            .bind(hash)
            .bind(method)
            .fetch_optional(&mut **t)
            .await?
        }))
    }

    /// Link a pending proof to `user`, if it is still pending: `false` when another request
    /// spent it first (so two concurrent uses cannot both succeed).
    pub async fn claim_pending_link(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "UPDATE patient_links SET state = 'linked', user_id = $1, linked_at = $2,
                     updated_at = $2, code_selector = NULL
                 WHERE id = $3 AND state = 'pending'",
            )
            .bind(user)
            .bind(at)
            .bind(id)
            .execute(&mut **t)
            .await?
            .rows_affected()
        }) == 1)
    }

    /// Write back a link's state, method and counters (the proof itself never changes; a
    /// code that leaves `pending` frees its selector for new codes; a suggestion staff
    /// confirm becomes `staff_confirmed`).
    pub async fn update_patient_link(
        &self,
        tx: &mut Tx,
        l: &PatientLinkRow,
    ) -> Result<(), StoreError> {
        let now = super::now();
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE patient_links SET user_id = $1, state = $2, failed_attempts = $3, updated_at = $4,
                     linked_at = $5, revoked_at = $6, revoked_reason = $7, method = $9,
                     code_selector = CASE WHEN $2 = 'pending' THEN code_selector ELSE NULL END
                 WHERE id = $8",
            )
            .bind(l.user_id)
            .bind(&l.state)
            .bind(l.failed_attempts)
            .bind(now)
            .bind(l.linked_at)
            .bind(l.revoked_at)
            .bind(&l.revoked_reason)
            .bind(l.id)
            .bind(&l.method)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Every link, proof and suggestion of one of a clinic's records, newest first.
    pub async fn links_of_record(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Vec<PatientLinkListRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PatientLinkListRow>(
                "SELECT l.*, u.full_name_enc AS account_name, u.email AS account_email
                 FROM patient_links l LEFT JOIN users u ON u.id = l.user_id
                 WHERE l.clinic_id = $1 AND l.patient_id = $2
                 ORDER BY l.created_at DESC LIMIT 100",
            )
            .bind(clinic)
            .bind(patient)
            .fetch_all(p)
            .await?
        });
        self.open_names(rows, |r| &mut r.account_name)
    }

    /// The clinic records an account is linked to (state `linked`), oldest link first.
    pub async fn linked_records_of(
        &self,
        user: UserId,
    ) -> Result<Vec<LinkedRecordRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, LinkedRecordRow>(
                "SELECT l.id AS link_id, l.clinic_id, c.name AS clinic_name, l.patient_id, l.method, l.linked_at
                 FROM patient_links l JOIN clinics c ON c.id = l.clinic_id
                 WHERE l.user_id = $1 AND l.state = 'linked'
                 ORDER BY l.linked_at, l.id",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
    }

    /// Every patient record `user` may see as the patient: their own profile and the
    /// clinic records linked to their account.
    pub async fn patient_ids_of_user(&self, user: UserId) -> Result<Vec<PatientId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, PatientId>(
                "SELECT id FROM patients WHERE user_id = $1
                 UNION SELECT patient_id FROM patient_links WHERE user_id = $1 AND state = 'linked'",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
    }

    /// Whether an account already has an open suggestion for this record.
    pub async fn has_suggestion(
        &self,
        patient: PatientId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM patient_links WHERE patient_id = $1 AND user_id = $2 AND state = 'suggested'",
            )
            .bind(patient)
            .bind(user)
            .fetch_one(p)
            .await?
        }) > 0)
    }

    /// The accounts that hear a record's live pushes (`user:<id>`): its own account for a
    /// profile, and every account linked to it (a patient and a guardian, say), each once.
    pub async fn accounts_of_patient(&self, patient: PatientId) -> Result<Vec<UserId>, StoreError> {
        Ok(on_pool!(self, p => {
            // UNION, not UNION ALL: an account both owning and linked is named once.
            sqlx::query_scalar::<_, UserId>(
                "SELECT p.user_id FROM patients p WHERE p.id = $1 AND p.user_id IS NOT NULL
                 UNION
                 SELECT l.user_id FROM patient_links l
                  WHERE l.patient_id = $1 AND l.state = 'linked' AND l.user_id IS NOT NULL",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }
}
