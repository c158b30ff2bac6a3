//! Use cases: one function per thing a user does (book an appointment, register a patient,
//! check in, issue a document…). Each owns its authorization decision, its one database
//! transaction with the audit record inside it, and the events it publishes after commit.
//! The edges (`http/`, `ws/`) parse, call one use case and map its result; nothing here
//! knows HTTP.

pub mod agenda;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod billing;
pub mod caller;
pub mod chat;
pub mod clinics;
pub mod consents;
pub mod consults;
pub mod documents;
pub mod error;
pub mod guests;
pub mod health;
pub mod invitations;
pub mod keys;
pub mod lgpd;
pub mod links;
pub mod me;
pub mod message_texts;
pub mod messages;
pub mod mfa;
pub mod oidc;
pub mod passkeys;
pub mod password_reset;
pub mod patient_link_mail;
pub mod patient_links;
pub mod patients;
pub mod queue;
pub mod record;
pub mod reminders;
pub mod replies;
pub mod reports;
pub mod session;
pub mod signup;
pub mod sms;
pub mod state;
pub mod waitlist;
pub mod whatsapp;

pub use caller::Auth;
pub use error::AppError;
pub use state::AppState;
