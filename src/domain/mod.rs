//! Pure domain types and rules: no I/O. Input becomes these types at the edge
//! (HTTP, CLI), so code past the edge cannot hold an invalid value.

pub mod agenda;
pub mod billing;
pub mod consult;
pub mod document;
pub mod documents_br;
pub mod ids;
pub mod office_hours;
pub mod person;
pub mod professional;
pub mod queue;
pub mod record;
pub mod reminders;
pub mod role;
pub mod scope;
mod stored;

pub use documents_br::{Cnpj, Cpf};
pub use ids::*;
pub use person::{BirthDate, Email, Password, PersonName, Phone};
pub use professional::{Council, CouncilNumber, Gender, Profession, Uf};
pub use role::Role;

/// A rule broken by input: a stable snake_case code for programs and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    pub code: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}
