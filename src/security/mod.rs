//! Passwords, tokens, field encryption, the audit chain and rate limits.

pub mod archive;
pub mod audit;
pub mod crypto;
pub mod links;
pub mod mfa;
pub mod oidc;
pub mod oidc_provider;
pub mod passkeys;
pub mod password;
pub mod throttle;
pub mod tokens;
