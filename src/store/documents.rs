//! Signed documents, professionals' signing keys and the installation's CA.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::document::{DocumentKind, DocumentStatus};
use crate::domain::{ClinicId, PatientId, ProfessionalId};
use crate::security::audit::AuditEvent;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: uuid::Uuid,
    pub clinic_id: ClinicId,
    pub professional_id: ProfessionalId,
    pub patient_id: PatientId,
    #[sqlx(try_from = "String")]
    pub kind: DocumentKind,
    pub content_enc: String,
    pub code: String,
    #[sqlx(try_from = "String")]
    pub status: DocumentStatus,
    pub failure: Option<String>,
    pub attempts: i32,
    pub signing_key_id: Option<uuid::Uuid>,
    pub sha256: Option<String>,
    pub created_at: DateTime<Utc>,
    pub signed_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    /// Whether the certificate that signed it chains to ICP-Brasil (false until signed).
    pub icp_brasil: bool,
}

/// A document with the names people see, for lists and the verification page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentView {
    #[sqlx(flatten)]
    pub d: DocumentRow,
    pub clinic_name: String,
    pub professional_name: String,
    pub professional_user_id: crate::domain::UserId,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
    pub patient_name: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SigningKeyRow {
    pub id: uuid::Uuid,
    pub professional_id: ProfessionalId,
    pub source: String,
    pub key_enc: String,
    pub chain_der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub not_after: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// The professionals' active signing certificates against a time (for `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CertificateExpiry {
    /// Expired: a document signed with one would not validate.
    pub expired: i64,
    /// Still valid, but expiring before the horizon.
    pub expiring: i64,
    /// The earliest expiry among the still valid ones.
    pub next_expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaRow {
    pub key_enc: String,
    pub cert_der: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

const DOC_COLUMNS: &str =
    "d.id, d.clinic_id, d.professional_id, d.patient_id, d.kind, d.content_enc,
    d.code, d.status, d.failure, d.attempts, d.signing_key_id, d.sha256, d.created_at, d.signed_at,
    d.sent_at, d.revoked_at, d.revoked_reason, d.icp_brasil";

fn view_sql(filter: &str) -> String {
    format!(
        "SELECT {DOC_COLUMNS}, c.name AS clinic_name, u.full_name_enc AS professional_name,
            u.id AS professional_user_id, pr.council, pr.council_number, pr.council_uf,
            COALESCE(p.social_name_enc, p.full_name_enc) AS patient_name
         FROM documents d
         JOIN clinics c ON c.id = d.clinic_id
         JOIN professionals pr ON pr.id = d.professional_id
         JOIN users u ON u.id = pr.user_id
         JOIN patients p ON p.id = d.patient_id
         {filter}"
    )
}

impl Store {
    /// A document view as read, the patient's and the professional's names (sealed) opened.
    fn open_document_view(&self, mut v: DocumentView) -> Result<DocumentView, StoreError> {
        v.patient_name = self.unseal(std::mem::take(&mut v.patient_name))?;
        v.professional_name = self.unseal(std::mem::take(&mut v.professional_name))?;
        Ok(v)
    }

    /// Store a new document inside `tx` (with its audit row); `Conflict("code")` when its
    /// verification code is taken.
    pub async fn insert_document(&self, tx: &mut Tx, d: &DocumentRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO documents (id, clinic_id, professional_id, patient_id, kind, content_enc,
                    code, status, attempts, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)",
            )
            .bind(d.id)
            .bind(d.clinic_id)
            .bind(d.professional_id)
            .bind(d.patient_id)
            .bind(d.kind.as_str())
            .bind(&d.content_enc)
            .bind(&d.code)
            .bind(d.status.as_str())
            .bind(d.created_at)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["code"]))?;
        });
        Ok(())
    }

    pub async fn document(&self, id: uuid::Uuid) -> Result<Option<DocumentView>, StoreError> {
        let found = on_pool!(self, p => {
            sqlx::query_as::<_, DocumentView>(sqlx::AssertSqlSafe(view_sql("WHERE d.id = $1")))
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        found.map(|v| self.open_document_view(v)).transpose()
    }

    pub async fn document_by_code(&self, code: &str) -> Result<Option<DocumentView>, StoreError> {
        let found = on_pool!(self, p => {
            sqlx::query_as::<_, DocumentView>(sqlx::AssertSqlSafe(view_sql("WHERE d.code = $1")))
                .bind(code)
                .fetch_optional(p)
                .await?
        });
        found.map(|v| self.open_document_view(v)).transpose()
    }

    /// The signed document whose file has this SHA-256 (hex), if it is one of ours.
    pub async fn document_by_sha256(
        &self,
        sha256: &str,
    ) -> Result<Option<DocumentView>, StoreError> {
        let found = on_pool!(self, p => {
            sqlx::query_as::<_, DocumentView>(sqlx::AssertSqlSafe(view_sql(
                "WHERE d.sha256 = $1 AND d.status = 'signed'",
            )))
            .bind(sha256)
            .fetch_optional(p)
            .await?
        });
        found.map(|v| self.open_document_view(v)).transpose()
    }

    /// A patient's documents, newest first; optionally only those issued in one clinic.
    pub async fn documents_of_patient(
        &self,
        patient: PatientId,
        clinic: Option<ClinicId>,
    ) -> Result<Vec<DocumentView>, StoreError> {
        let sql = view_sql(
            "WHERE d.patient_id = $1 AND ($2 IS NULL OR d.clinic_id = $2)
             ORDER BY d.created_at DESC LIMIT 200",
        );
        let found = on_pool!(self, p => {
            sqlx::query_as::<_, DocumentView>(sqlx::AssertSqlSafe(sql))
                .bind(patient)
                .bind(clinic)
                .fetch_all(p)
                .await?
        });
        found
            .into_iter()
            .map(|v| self.open_document_view(v))
            .collect()
    }

    /// The documents a professional issued, newest first.
    pub async fn documents_of_professional(
        &self,
        professional: ProfessionalId,
    ) -> Result<Vec<DocumentView>, StoreError> {
        let sql = view_sql("WHERE d.professional_id = $1 ORDER BY d.created_at DESC LIMIT 200");
        let found = on_pool!(self, p => {
            sqlx::query_as::<_, DocumentView>(sqlx::AssertSqlSafe(sql))
                .bind(professional)
                .fetch_all(p)
                .await?
        });
        found
            .into_iter()
            .map(|v| self.open_document_view(v))
            .collect()
    }

    /// The signed PDF of a document.
    pub async fn document_pdf(&self, id: uuid::Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        let row: Option<(Option<Vec<u8>>,)> = on_pool!(self, p => {
            sqlx::query_as("SELECT pdf FROM documents WHERE id = $1 AND status = 'signed'")
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        Ok(row.and_then(|r| r.0))
    }

    /// Ids of pending documents no signer holds a lease on (none taken, or run out),
    /// oldest first.
    pub async fn unleased_pending_documents(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<uuid::Uuid>, StoreError> {
        let rows: Vec<(uuid::Uuid,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id FROM documents
                 WHERE status = 'pending' AND (lease_until IS NULL OR lease_until < $1)
                 ORDER BY created_at LIMIT 10000",
            )
            .bind(now)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Take (or renew) the signing lease of a pending document for `node` until `until`:
    /// false when it is no longer pending or another signer's lease still runs.
    pub async fn lease_document(
        &self,
        id: uuid::Uuid,
        node: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            sqlx::query(
                "UPDATE documents SET lease_node = $1, lease_until = $2
                 WHERE id = $3 AND status = 'pending'
                   AND (lease_until IS NULL OR lease_until < $4 OR lease_node = $1)",
            )
            .bind(node)
            .bind(until)
            .bind(id)
            .bind(now)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Count a signer failure on this document (a panic while signing it, not a restart);
    /// returns the count so far.
    pub async fn document_signer_failed(&self, id: uuid::Uuid) -> Result<i32, StoreError> {
        let row: Option<(i32,)> = on_pool!(self, p => {
            sqlx::query_as(
                "UPDATE documents SET attempts = attempts + 1 WHERE id = $1 AND status = 'pending'
                 RETURNING attempts",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        Ok(row.map_or(0, |r| r.0))
    }

    /// Store the signed file; false when the document was no longer pending (another node
    /// signed it first — its file stands).
    pub async fn document_signed(
        &self,
        id: uuid::Uuid,
        key: uuid::Uuid,
        pdf: &[u8],
        sha256: &str,
        icp_brasil: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            sqlx::query(
                "UPDATE documents SET status = 'signed', pdf = $1, sha256 = $2, signed_at = $3,
                    signing_key_id = $4, icp_brasil = $5, failure = NULL, lease_node = NULL,
                    lease_until = NULL
                 WHERE id = $6 AND status = 'pending'",
            )
            .bind(pdf)
            .bind(sha256)
            .bind(at)
            .bind(key)
            .bind(icp_brasil)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    pub async fn document_failed(&self, id: uuid::Uuid, reason: &str) -> Result<bool, StoreError> {
        let done = on_pool!(self, p => {
            sqlx::query(
                "UPDATE documents SET status = 'failed', failure = $1, lease_node = NULL,
                    lease_until = NULL
                 WHERE id = $2 AND status = 'pending'",
            )
            .bind(reason)
            .bind(id)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Revoke a document once, inside `tx` (with its audit row): false when it already was.
    pub async fn revoke_document(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query(
                "UPDATE documents SET revoked_at = $1, revoked_reason = $2
                 WHERE id = $3 AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(reason)
            .bind(id)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Stamp the document as sent, inside `tx` (with the outbox message that sends it).
    pub async fn mark_document_sent(
        &self,
        tx: &mut Tx,
        id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE documents SET sent_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    pub async fn signing_ca(&self) -> Result<Option<CaRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, CaRow>("SELECT key_enc, cert_der, created_at FROM signing_ca WHERE id = 1")
                .fetch_optional(p)
                .await?
        }))
    }

    /// Store the CA unless another node stored one first (then theirs stands).
    pub async fn insert_signing_ca(&self, ca: &CaRow) -> Result<(), StoreError> {
        on_pool!(self, p => {
            sqlx::query(
                "INSERT INTO signing_ca (id, key_enc, cert_der, created_at) VALUES (1, $1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&ca.key_enc)
            .bind(&ca.cert_der)
            .bind(ca.created_at)
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// How the active signing certificates stand at `now`: expired, expiring before
    /// `horizon`, and the next expiry.
    /// The active certificates of one `source` (`installation_ca`, `imported`) against
    /// `now` and `horizon`.
    pub async fn certificate_expiry(
        &self,
        source: &str,
        now: DateTime<Utc>,
        horizon: DateTime<Utc>,
    ) -> Result<CertificateExpiry, StoreError> {
        // Only the still valid ones have a next expiry: MIN over them, read as the key's
        // own column so both databases decode a time.
        const SQL: &str = "SELECT
                COALESCE(SUM(CASE WHEN not_after <= $1 THEN 1 ELSE 0 END), 0) AS expired,
                COALESCE(SUM(CASE WHEN not_after > $1 AND not_after <= $2 THEN 1 ELSE 0 END), 0)
                    AS expiring,
                (SELECT not_after FROM signing_keys
                 WHERE retired_at IS NULL AND source = $3 AND not_after > $1
                 ORDER BY not_after LIMIT 1) AS next_expiry
             FROM signing_keys WHERE retired_at IS NULL AND source = $3";
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, CertificateExpiry>(SQL)
                .bind(now)
                .bind(horizon)
                .bind(source)
                .fetch_one(p)
                .await?
        }))
    }

    pub async fn active_signing_key(
        &self,
        professional: ProfessionalId,
    ) -> Result<Option<SigningKeyRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, SigningKeyRow>(
                "SELECT * FROM signing_keys WHERE professional_id = $1 AND retired_at IS NULL",
            )
            .bind(professional)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Make `key` the professional's active key. An installation-CA key is only added when
    /// the professional has none (a concurrent issue keeps the first); one that `replaces`
    /// an expiring key retires that key first, if it is still the active one (a concurrent
    /// renewal keeps the first); an imported key retires the current one. `audit` is
    /// appended in the same transaction, when the key went in.
    pub async fn install_signing_key(
        &self,
        key: &SigningKeyRow,
        replaces: Option<uuid::Uuid>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let inserted = super::on_tx!(&mut tx, t => {
            if let Some(old) = replaces {
                sqlx::query(
                    "UPDATE signing_keys SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL",
                )
                .bind(key.created_at)
                .bind(old)
                .execute(&mut **t)
                .await?;
            }
            if key.source == "imported" {
                sqlx::query(
                    "UPDATE signing_keys SET retired_at = $1 WHERE professional_id = $2 AND retired_at IS NULL",
                )
                .bind(key.created_at)
                .bind(key.professional_id)
                .execute(&mut **t)
                .await?;
            }
            sqlx::query(
                "INSERT INTO signing_keys (id, professional_id, source, key_enc, chain_der, subject,
                    issuer, not_after, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
                 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE professional_id = $2 AND retired_at IS NULL)",
            )
            .bind(key.id)
            .bind(key.professional_id)
            .bind(&key.source)
            .bind(&key.key_enc)
            .bind(&key.chain_der)
            .bind(&key.subject)
            .bind(&key.issuer)
            .bind(key.not_after)
            .bind(key.created_at)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["professional_id"]))?
            .rows_affected()
        });
        // Another node's issue or renewal got there first: its key stands, and so does its
        // audit row (one per key installed).
        if inserted > 0 {
            self.append_audit(&mut tx, audit).await?;
        }
        tx.commit().await
    }

    /// Retire the professional's active key (the next document gets an installation-CA key),
    /// inside `tx` (with its audit row).
    pub async fn retire_signing_key(
        &self,
        tx: &mut Tx,
        professional: ProfessionalId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(tx, t => {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $1 WHERE professional_id = $2 AND retired_at IS NULL",
            )
            .bind(at)
            .bind(professional)
            .execute(&mut **t)
            .await?
            .rows_affected()
        });
        Ok(done > 0)
    }

    pub async fn signing_key(&self, id: uuid::Uuid) -> Result<Option<SigningKeyRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, SigningKeyRow>("SELECT * FROM signing_keys WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }
}

impl Store {
    /// The roles a clinic lets read the clinical content of documents they did not issue.
    pub async fn document_grants(&self, clinic: ClinicId) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT role FROM clinic_document_grants WHERE clinic_id = $1 ORDER BY role",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(|(r,)| r).collect())
    }

    /// Replace a clinic's document grants, inside `tx` (with the audit row).
    pub async fn set_document_grants(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        roles: &[&str],
        by: crate::domain::UserId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("DELETE FROM clinic_document_grants WHERE clinic_id = $1")
                .bind(clinic)
                .execute(&mut **t)
                .await?;
            for role in roles {
                sqlx::query(
                    "INSERT INTO clinic_document_grants (clinic_id, role, granted_by, created_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(clinic)
                .bind(*role)
                .bind(by)
                .bind(at)
                .execute(&mut **t)
                .await?;
            }
        });
        Ok(())
    }
}
