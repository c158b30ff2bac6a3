//! The CID-10 search behind the diagnosis and problem fields: for professionals (whoever
//! writes encounters, in any clinic), over the table bundled in the binary. It reads no
//! patient data, so it is not audited.

use serde::{Deserialize, Serialize};

use crate::app::Auth;
use crate::app::error::AppError;
use crate::domain::cid10::{Cid10Hit, MAX_RESULTS, table};
use crate::domain::{Role, ValidationError};

/// Default page of results.
const DEFAULT_LIMIT: usize = 20;
/// Longest query (characters).
const MAX_QUERY_CHARS: usize = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Cid10Query {
    /// A code prefix with or without the dot, any case (`j11`, `J11.1`), or words without
    /// regard to accents or case, all required, the last one a prefix (`infeccao urin`).
    #[serde(default)]
    pub q: String,
    /// Results, 1–50 (default 20).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Codes matching a query, best first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Cid10Results {
    pub results: Vec<Cid10Hit>,
    /// How many codes matched in all (more than `results` holds when the limit cut them).
    pub total: usize,
}

/// Search the CID-10 (professionals only: 403 `not_a_professional` for anyone else).
pub fn search(auth: &Auth, query: Cid10Query) -> Result<Cid10Results, AppError> {
    if !auth.roles.iter().any(|(_, r)| *r == Role::Professional) {
        return Err(AppError::forbidden(
            "not_a_professional",
            "somente profissionais consultam a CID-10",
        ));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_RESULTS).contains(&limit) {
        return Err(ValidationError::new("invalid_limit", "limit deve estar entre 1 e 50").into());
    }
    if query.q.chars().count() > MAX_QUERY_CHARS {
        return Err(ValidationError::new(
            "query_too_long",
            format!("a busca tem no máximo {MAX_QUERY_CHARS} caracteres"),
        )
        .into());
    }
    let (results, total) = table().search(&query.q, limit);
    Ok(Cid10Results { results, total })
}
