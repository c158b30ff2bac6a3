//! Clinics.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx};
use crate::domain::{Address, ClinicId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClinicRow {
    pub id: ClinicId,
    pub name: String,
    pub cnpj: String,
    pub street: String,
    pub number: String,
    pub complement: Option<String>,
    pub district: String,
    pub city: String,
    pub uf: String,
    pub postal_code: String,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

impl ClinicRow {
    /// The clinic's IANA zone (validated when stored; São Paulo if it ever fails to parse).
    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone
            .parse()
            .unwrap_or(chrono_tz::America::Sao_Paulo)
    }

    pub fn address(&self) -> Address {
        Address {
            street: self.street.clone(),
            number: self.number.clone(),
            complement: self.complement.clone(),
            district: self.district.clone(),
            city: self.city.clone(),
            uf: self.uf.clone(),
            postal_code: self.postal_code.clone(),
        }
    }
}

impl Store {
    pub async fn insert_clinic(&self, tx: &mut Tx, c: &ClinicRow) -> Result<(), StoreError> {
        on_tx!(tx, t => {
            sqlx::query(
                "INSERT INTO clinics (id, name, cnpj, street, number, complement, district, city, uf,
                                      postal_code, time_zone, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(c.id)
            .bind(&c.name)
            .bind(&c.cnpj)
            .bind(&c.street)
            .bind(&c.number)
            .bind(&c.complement)
            .bind(&c.district)
            .bind(&c.city)
            .bind(&c.uf)
            .bind(&c.postal_code)
            .bind(&c.time_zone)
            .bind(c.created_at)
            .execute(&mut **t)
            .await
            .map_err(|e| StoreError::from(e).unique_on(&["cnpj"]))?;
        });
        Ok(())
    }

    pub async fn clinic_by_id(&self, id: ClinicId) -> Result<Option<ClinicRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ClinicRow>("SELECT * FROM clinics WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }

    pub async fn clinic_by_cnpj(&self, cnpj: &str) -> Result<Option<ClinicRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ClinicRow>("SELECT * FROM clinics WHERE cnpj = $1")
                .bind(cnpj)
                .fetch_optional(p)
                .await?
        }))
    }

    pub async fn all_clinics(&self) -> Result<Vec<ClinicRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ClinicRow>("SELECT * FROM clinics ORDER BY name")
                .fetch_all(p)
                .await?
        }))
    }

    /// Clinics that take bookings (some professional has hours there), by name; at most
    /// `limit`.
    pub async fn bookable_clinics(&self, limit: i64) -> Result<Vec<ClinicRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ClinicRow>(
                "SELECT * FROM clinics c
                 WHERE EXISTS (SELECT 1 FROM working_hours w WHERE w.clinic_id = c.id)
                 ORDER BY c.name LIMIT $1",
            )
            .bind(limit)
            .fetch_all(p)
            .await?
        }))
    }

    /// Clinics where the user holds any role.
    pub async fn clinics_of_user(&self, user: UserId) -> Result<Vec<ClinicRow>, StoreError> {
        Ok(on_pool!(self, p => {
            sqlx::query_as::<_, ClinicRow>(
                "SELECT * FROM clinics WHERE id IN (SELECT clinic_id FROM memberships WHERE user_id = $1)
                 ORDER BY name",
            )
            .bind(user)
            .fetch_all(p)
            .await?
        }))
    }
}
