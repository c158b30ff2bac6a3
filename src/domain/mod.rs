//! Pure domain types and rules: no I/O. Input becomes these types at the edge
//! (HTTP, CLI), so code past the edge cannot hold an invalid value.

pub mod address;
pub mod agenda;
pub mod billing;
pub mod cid10;
pub mod consult;
pub mod document;
pub mod documents_br;
pub mod fhir;
pub mod ids;
pub mod message_text;
pub mod office_hours;
pub mod person;
pub mod professional;
pub mod queue;
pub mod recipient;
pub mod record;
pub mod reminders;
pub mod role;
pub mod scope;
pub mod sms;
mod stored;
pub mod text;
pub mod vitals;

pub use address::Address;
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
    /// The input field at fault, when one is (named in the error body as `field`).
    pub field: Option<&'static str>,
}

impl ValidationError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same error, naming the input field at fault.
    pub fn field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }
}
