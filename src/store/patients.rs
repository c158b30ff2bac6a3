//! Patients: a record has one owner — a clinic (its row in `clinic_patients` holds the
//! clinic's encrypted clinical text) or an account (`user_id`: the profile typed at
//! sign-up). The same CPF may appear in many records; accounts reach clinic records only
//! through proven links (`store::patient_links`).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::text::{name_order, name_query};
use crate::domain::{Address, ClinicId, PatientId, UserId};

#[derive(Debug, Clone)]
pub struct PatientRow {
    pub id: PatientId,
    pub user_id: Option<UserId>,
    pub full_name: String,
    pub social_name: Option<String>,
    pub cpf: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Postal address, when given (checked: [`Address::parse`]).
    pub address: Option<Address>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A patient as one clinic sees them: identity plus that clinic's (still encrypted) text.
#[derive(Debug, Clone)]
pub struct ClinicPatientRow {
    pub patient: PatientRow,
    pub allergies_enc: Option<String>,
    pub notes_enc: Option<String>,
}

/// A `patients` row as stored: names, CPF, birth date, phone, e-mail and address sealed
/// ([`super::sealed`]).
#[derive(sqlx::FromRow)]
struct PatientStored {
    id: PatientId,
    user_id: Option<UserId>,
    full_name_enc: String,
    social_name_enc: Option<String>,
    cpf_enc: String,
    birth_date_enc: String,
    phone_enc: Option<String>,
    email_enc: Option<String>,
    address_enc: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ClinicPatientStored {
    #[sqlx(flatten)]
    patient: PatientStored,
    allergies_enc: Option<String>,
    notes_enc: Option<String>,
}

const PATIENT_COLUMNS: &str =
    "p.id, p.user_id, p.full_name_enc, p.social_name_enc, p.cpf_enc, p.birth_date_enc,
        p.phone_enc, p.email_enc, p.address_enc, p.created_at, p.updated_at";

const CLINIC_PATIENT_SELECT: &str =
    "SELECT p.id, p.user_id, p.full_name_enc, p.social_name_enc, p.cpf_enc, p.birth_date_enc, p.phone_enc,
        p.email_enc, p.address_enc, p.created_at, p.updated_at, cp.allergies_enc, cp.notes_enc
 FROM clinic_patients cp JOIN patients p ON p.id = cp.patient_id";

impl Store {
    fn open_patient(&self, s: PatientStored) -> Result<PatientRow, StoreError> {
        let birth = self.unseal(s.birth_date_enc)?;
        Ok(PatientRow {
            id: s.id,
            user_id: s.user_id,
            full_name: self.unseal(s.full_name_enc)?,
            social_name: self.unseal_opt(s.social_name_enc)?,
            cpf: self.unseal(s.cpf_enc)?,
            birth_date: NaiveDate::parse_from_str(&birth, "%Y-%m-%d")
                .map_err(|_| StoreError::Sealed("a birth date that is not a date".into()))?,
            phone: self.unseal_opt(s.phone_enc)?,
            email: self.unseal_opt(s.email_enc)?,
            address: self
                .unseal_opt(s.address_enc)?
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(|_| StoreError::Sealed("an address that is not one".into()))?,
            created_at: s.created_at,
            updated_at: s.updated_at,
        })
    }

    fn seal_address(&self, a: Option<&Address>) -> Result<Option<String>, StoreError> {
        a.map(|a| {
            let json = serde_json::to_string(a)
                .map_err(|e| StoreError::Sealed(format!("an address: {e}")))?;
            self.seal(&json)
        })
        .transpose()
    }

    fn open_patients(&self, rows: Vec<PatientStored>) -> Result<Vec<PatientRow>, StoreError> {
        rows.into_iter().map(|r| self.open_patient(r)).collect()
    }

    fn open_clinic_patient(&self, s: ClinicPatientStored) -> Result<ClinicPatientRow, StoreError> {
        Ok(ClinicPatientRow {
            patient: self.open_patient(s.patient)?,
            allergies_enc: s.allergies_enc,
            notes_enc: s.notes_enc,
        })
    }
}

impl Store {
    pub async fn insert_patient(&self, tx: &mut Tx, p: &PatientRow) -> Result<(), StoreError> {
        let cpf = self.seal(&p.cpf)?;
        let index = self.cpf_index(&p.cpf)?;
        let birth = self.seal(&p.birth_date.format("%Y-%m-%d").to_string())?;
        let phone = self.seal_opt(p.phone.as_deref())?;
        let phone_index = self.phone_index(p.phone.as_deref())?;
        let email = self.seal_opt(p.email.as_deref())?;
        let full_name = self.seal(&p.full_name)?;
        let social_name = self.seal_opt(p.social_name.as_deref())?;
        let address = self.seal_address(p.address.as_ref())?;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO patients (id, user_id, full_name_enc, social_name_enc, cpf_enc, birth_date_enc,
                                       phone_enc, email_enc, created_at, updated_at, cpf_index, phone_index,
                                       names_indexed, address_enc)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, TRUE, $13)",
            )
            .bind(p.id)
            .bind(p.user_id)
            .bind(&full_name)
            .bind(&social_name)
            .bind(&cpf)
            .bind(&birth)
            .bind(&phone)
            .bind(&email)
            .bind(p.created_at)
            .bind(p.updated_at)
            .bind(&index)
            .bind(&phone_index)
            .bind(&address)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["user_id"]))?;
        });
        self.write_name_tokens(tx, p.id, Some((&p.full_name, p.social_name.as_deref())))
            .await?;
        Ok(())
    }

    /// A clinic's own records with this CPF (a clinic may hold a record its staff made and
    /// one a patient made by booking), inside `tx`.
    pub async fn clinic_patients_by_cpf_tx(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        cpf: &str,
    ) -> Result<Vec<PatientRow>, StoreError> {
        let index = self.cpf_index(cpf)?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p JOIN clinic_patients cp ON cp.patient_id = p.id
             WHERE cp.clinic_id = $1 AND p.cpf_index = $2 ORDER BY p.created_at"
        ));
        let rows = on_tx!(tx, t => {
            sqlx::query_as::<_, PatientStored>(sql)
                .bind(clinic)
                .bind(&index)
                .fetch_all(&mut **t)
                .await?
        });
        self.open_patients(rows)
    }

    /// A clinic's own records with this CPF, oldest first.
    pub async fn clinic_patients_by_cpf(
        &self,
        clinic: ClinicId,
        cpf: &str,
    ) -> Result<Vec<PatientRow>, StoreError> {
        let index = self.cpf_index(cpf)?;
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p JOIN clinic_patients cp ON cp.patient_id = p.id
             WHERE cp.clinic_id = $1 AND p.cpf_index = $2 ORDER BY p.created_at"
        ));
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, PatientStored>(sql)
                .bind(clinic)
                .bind(&index)
                .fetch_all(p)
                .await?
        });
        self.open_patients(rows)
    }

    pub async fn patient_by_id(&self, id: PatientId) -> Result<Option<PatientRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p WHERE p.id = $1"
        ));
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PatientStored>(sql)
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        row.map(|r| self.open_patient(r)).transpose()
    }

    pub async fn patient_by_user(&self, user: UserId) -> Result<Option<PatientRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {PATIENT_COLUMNS} FROM patients p WHERE p.user_id = $1"
        ));
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, PatientStored>(sql)
                .bind(user)
                .fetch_optional(p)
                .await?
        });
        row.map(|r| self.open_patient(r)).transpose()
    }

    /// Make a new record the clinic's own (its clinical text). Returns false if it already
    /// was. Never called on a record another clinic or an account owns.
    pub async fn link_patient_to_clinic(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        patient: PatientId,
        allergies_enc: Option<&str>,
        notes_enc: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = super::now();
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO clinic_patients (clinic_id, patient_id, allergies_enc, notes_enc, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING",
            )
            .bind(clinic)
            .bind(patient)
            .bind(allergies_enc)
            .bind(notes_enc)
            .bind(now)
            .execute(&mut **t)
            .await?
            .rows_affected()
                == 1
        }))
    }

    pub async fn clinic_patient(
        &self,
        clinic: ClinicId,
        patient: PatientId,
    ) -> Result<Option<ClinicPatientRow>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{CLINIC_PATIENT_SELECT} WHERE cp.clinic_id = $1 AND cp.patient_id = $2"
        ));
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, ClinicPatientStored>(sql)
                .bind(clinic)
                .bind(patient)
                .fetch_optional(p)
                .await?
        });
        row.map(|r| self.open_clinic_patient(r)).transpose()
    }

    /// Patients of a clinic, at most `limit`, by name (without regard to case or accents):
    /// all of them for an empty `query`; else those whose name or social name holds a word
    /// starting with each word of `query` (of 2 letters or more; "mar sil" finds "Maria da
    /// Silva"), found through the name index ([`super::patient_index`]), or whose CPF is
    /// the eleven digits of `query` (by its blind index: a CPF is never stored in the
    /// clear, so it matches whole, not by a part). A query with neither finds nobody.
    pub async fn search_clinic_patients(
        &self,
        clinic: ClinicId,
        query: &str,
        limit: i64,
    ) -> Result<Vec<ClinicPatientRow>, StoreError> {
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        let cpf_index = (digits.len() == 11)
            .then(|| self.cpf_index(&digits))
            .transpose()?;
        let tokens = self.name_indexes(&name_query(query))?;
        let browse = query.trim().is_empty();
        if !browse && cpf_index.is_none() && tokens.is_empty() {
            return Ok(Vec::new());
        }
        let filter = if browse {
            String::new()
        } else {
            let params: Vec<String> = (0..tokens.len()).map(|i| format!("${}", i + 3)).collect();
            format!(
                "AND (p.cpf_index = $2 OR p.id IN (
                    SELECT patient_id FROM patient_name_tokens WHERE token IN ({})
                    GROUP BY patient_id HAVING count(*) = {}))",
                if params.is_empty() {
                    "NULL".to_string()
                } else {
                    params.join(", ")
                },
                tokens.len()
            )
        };
        let sql = format!("{CLINIC_PATIENT_SELECT} WHERE cp.clinic_id = $1 {filter}");
        let rows = on_pool!(self, p => {
            let mut q = sqlx::query_as::<_, ClinicPatientStored>(sqlx::AssertSqlSafe(sql)).bind(clinic);
            if !browse {
                q = q.bind(&cpf_index);
                for token in &tokens {
                    q = q.bind(token);
                }
            }
            q.fetch_all(p).await?
        });
        // The names are sealed: the order (and so the limit) is decided here.
        let mut named = rows
            .into_iter()
            .map(|r| Ok((self.unseal(r.patient.full_name_enc.clone())?, r)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        named.sort_by(|(a, _), (b, _)| name_order(a, b));
        named
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|(_, r)| self.open_clinic_patient(r))
            .collect()
    }

    /// Clinics a patient is registered with.
    pub async fn clinics_of_patient(
        &self,
        patient: PatientId,
    ) -> Result<Vec<ClinicId>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, ClinicId>(
                "SELECT clinic_id FROM clinic_patients WHERE patient_id = $1",
            )
            .bind(patient)
            .fetch_all(p)
            .await?
        }))
    }

    /// Set or remove a record's postal address.
    pub async fn set_patient_address(
        &self,
        tx: &mut Tx,
        patient: PatientId,
        address: Option<&Address>,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_address(address)?;
        let now = super::now();
        on_tx!(tx, t => {
            sqlx::query("UPDATE patients SET address_enc = $1, updated_at = $2 WHERE id = $3")
                .bind(&sealed)
                .bind(now)
                .bind(patient)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    /// Update contact data on the identity record and the clinic's clinical text (not the
    /// address: [`Store::set_patient_address`], written only when it changes, so an edit of
    /// the phone never puts back an address the patient changed meanwhile).
    pub async fn update_clinic_patient(
        &self,
        tx: &mut Tx,
        row: &ClinicPatientRow,
        clinic: ClinicId,
    ) -> Result<(), StoreError> {
        let now = super::now();
        let phone = self.seal_opt(row.patient.phone.as_deref())?;
        let phone_index = self.phone_index(row.patient.phone.as_deref())?;
        let email = self.seal_opt(row.patient.email.as_deref())?;
        let social_name = self.seal_opt(row.patient.social_name.as_deref())?;
        on_tx!(tx, t => {
            sqlx::query(
                "UPDATE patients SET phone_enc = $1, email_enc = $2, social_name_enc = $3, updated_at = $4,
                    phone_index = $6
                 WHERE id = $5",
            )
                .bind(&phone)
                .bind(&email)
                .bind(&social_name)
                .bind(now)
                .bind(row.patient.id)
                .bind(&phone_index)
                .execute(&mut **t)
                .await?;
            sqlx::query(
                "UPDATE clinic_patients SET allergies_enc = $1, notes_enc = $2, updated_at = $3
                 WHERE clinic_id = $4 AND patient_id = $5",
            )
            .bind(&row.allergies_enc)
            .bind(&row.notes_enc)
            .bind(now)
            .bind(clinic)
            .bind(row.patient.id)
            .execute(&mut **t)
            .await?;
        });
        // An anonymised record stays out of the name index whatever is changed on it.
        let anonymised = on_tx!(tx, t => {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>(
                "SELECT anonymised_at FROM patients WHERE id = $1",
            )
            .bind(row.patient.id)
            .fetch_one(&mut **t)
            .await?
        });
        let p = &row.patient;
        let names = anonymised
            .is_none()
            .then_some((p.full_name.as_str(), p.social_name.as_deref()));
        self.write_name_tokens(tx, p.id, names).await?;
        Ok(())
    }
}
