//! Users, professional profiles, clinic memberships and LGPD consents.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::text::name_order;
use crate::domain::{ClinicId, ProfessionalId, Role, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub full_name: String,
    pub platform_admin: bool,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProfessionalRow {
    pub id: ProfessionalId,
    pub user_id: UserId,
    pub profession: String,
    pub council: String,
    pub council_number: String,
    pub council_uf: String,
    pub specialty: Option<String>,
    pub rqe: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `female`, `male`, or not given.
    pub gender: Option<String>,
}

/// One clinic a user belongs to, in one role.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MembershipRow {
    pub clinic_id: ClinicId,
    pub clinic_name: String,
    pub role: String,
}

/// A member of a clinic as the clinic's staff list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: UserId,
    pub full_name: String,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRow {
    pub terms_version: String,
    pub accepted_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// A user as read: the name (sealed) in `full_name`, opened before it leaves the store.
const USER_SELECT: &str =
    "SELECT id, email, password_hash, full_name_enc AS full_name, platform_admin, created_at, disabled_at
     FROM users";

impl Store {
    pub async fn insert_user(&self, tx: &mut Tx, user: &UserRow) -> Result<(), StoreError> {
        let full_name = self.seal(&user.full_name)?;
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, full_name_enc, platform_admin, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(&full_name)
            .bind(user.platform_admin)
            .bind(user.created_at)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["email"]))?;
        });
        Ok(())
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("{USER_SELECT} WHERE email = $1")))
                .bind(email)
                .fetch_optional(p)
                .await?
        });
        self.open_name_opt(row, |u| &mut u.full_name)
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        let row = on_pool!(self, p => {
            sqlx::query_as::<_, UserRow>(sqlx::AssertSqlSafe(format!("{USER_SELECT} WHERE id = $1")))
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        self.open_name_opt(row, |u| &mut u.full_name)
    }

    pub async fn set_password_hash(
        &self,
        tx: &mut Tx,
        id: UserId,
        hash: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    pub async fn set_disabled(
        &self,
        tx: &mut Tx,
        id: UserId,
        disabled: bool,
    ) -> Result<(), StoreError> {
        let at = disabled.then(super::now);
        on_tx!(tx, t => {
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&mut **t)
                .await?;
        });
        Ok(())
    }

    pub async fn insert_professional(
        &self,
        tx: &mut Tx,
        row: &ProfessionalRow,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO professionals
                 (id, user_id, profession, council, council_number, council_uf, specialty, rqe, created_at, gender)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(row.id)
            .bind(row.user_id)
            .bind(&row.profession)
            .bind(&row.council)
            .bind(&row.council_number)
            .bind(&row.council_uf)
            .bind(&row.specialty)
            .bind(&row.rqe)
            .bind(row.created_at)
            .bind(&row.gender)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["council_number", "user_id"]))?;
        });
        Ok(())
    }

    pub async fn professional_by_user(
        &self,
        user: UserId,
    ) -> Result<Option<ProfessionalRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ProfessionalRow>(
                "SELECT id, user_id, profession, council, council_number, council_uf, specialty, rqe, created_at, gender
                 FROM professionals WHERE user_id = $1",
            )
            .bind(user)
            .fetch_optional(p)
            .await?
        }))
    }

    /// Professional profiles of every professional member of a clinic.
    pub async fn professionals_in_clinic(
        &self,
        clinic: ClinicId,
    ) -> Result<Vec<ProfessionalRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ProfessionalRow>(
                "SELECT pr.id, pr.user_id, pr.profession, pr.council, pr.council_number, pr.council_uf,
                        pr.specialty, pr.rqe, pr.created_at, pr.gender
                 FROM professionals pr JOIN memberships m ON m.user_id = pr.user_id
                 WHERE m.clinic_id = $1 AND m.role = 'professional'",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        }))
    }

    /// Add a role in a clinic; adding one the user already holds is a no-op.
    pub async fn add_membership(
        &self,
        tx: &mut Tx,
        user: UserId,
        clinic: ClinicId,
        role: Role,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO memberships (user_id, clinic_id, role, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(user)
            .bind(clinic)
            .bind(role.as_str())
            .bind(super::now())
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Take a role in a clinic away. False when the user did not hold it.
    pub async fn remove_membership(
        &self,
        tx: &mut Tx,
        user: UserId,
        clinic: ClinicId,
        role: Role,
    ) -> Result<bool, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND clinic_id = $2 AND role = $3")
                .bind(user)
                .bind(clinic)
                .bind(role.as_str())
                .execute(&mut **t)
                .await?
                .rows_affected()
                == 1
        }))
    }

    /// How many people hold `role` in `clinic` (read inside `tx`).
    pub async fn count_role_in(
        &self,
        tx: &mut Tx,
        clinic: ClinicId,
        role: Role,
    ) -> Result<i64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM memberships WHERE clinic_id = $1 AND role = $2",
            )
            .bind(clinic)
            .bind(role.as_str())
            .fetch_one(&mut **t)
            .await?
        }))
    }

    pub async fn memberships_of(&self, user: UserId) -> Result<Vec<MembershipRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, MembershipRow>(
                "SELECT m.clinic_id, c.name AS clinic_name, m.role
                 FROM memberships m JOIN clinics c ON c.id = m.clinic_id
                 WHERE m.user_id = $1 ORDER BY c.name, m.role",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
    }

    /// Whether `user` holds the professional role in `clinic`.
    pub async fn is_professional_in(
        &self,
        clinic: ClinicId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM memberships WHERE clinic_id = $1 AND user_id = $2 AND role = 'professional'",
            )
            .bind(clinic)
            .bind(user)
            .fetch_one(p)
            .await?
                > 0
        }))
    }

    pub async fn members_of_clinic(&self, clinic: ClinicId) -> Result<Vec<MemberRow>, StoreError> {
        let rows = on_pool!(self, p => {
            sqlx::query_as::<_, MemberRow>(
                "SELECT u.id AS user_id, u.full_name_enc AS full_name, u.email, m.role
                 FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.clinic_id = $1",
            )
            .bind(clinic)
            .fetch_all(p)
            .await?
        });
        let mut rows = self.open_names(rows, |m| &mut m.full_name)?;
        rows.sort_by(|a, b| {
            name_order(&a.full_name, &b.full_name).then_with(|| a.role.cmp(&b.role))
        });
        Ok(rows)
    }

    pub async fn insert_consent(
        &self,
        tx: &mut Tx,
        user: UserId,
        terms_version: &str,
        ip: Option<&str>,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO consents (id, user_id, terms_version, accepted_at, accepted_ip)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(uuid::Uuid::now_v7())
            .bind(user)
            .bind(terms_version)
            .bind(super::now())
            .bind(ip)
            .execute(&mut **t)
            .await?;
        });
        Ok(())
    }

    /// Withdraw every active consent of a user; returns how many were active.
    pub async fn withdraw_consents(&self, tx: &mut Tx, user: UserId) -> Result<u64, StoreError> {
        Ok(on_tx!(tx, t => {
            sqlx::query(
                "UPDATE consents SET withdrawn_at = $1 WHERE user_id = $2 AND withdrawn_at IS NULL",
            )
            .bind(super::now())
            .bind(user)
            .execute(&mut **t)
            .await?
            .rows_affected()
        }))
    }

    pub async fn consents_of(&self, user: UserId) -> Result<Vec<ConsentRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ConsentRow>(
                "SELECT terms_version, accepted_at, withdrawn_at FROM consents
                 WHERE user_id = $1 ORDER BY accepted_at DESC",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
    }
}
