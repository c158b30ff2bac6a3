#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

//! Integration tests: each starts the real application on port 0 with a fresh database
//! (SQLite by default; a new PostgreSQL database per test when TEST_DATABASE_URL is set)
//! and talks HTTP to it.

mod account_names;
mod agenda;
mod audit;
mod auth;
mod backup;
mod billing;
mod bus_fallback;
mod chat;
mod chat_pressure;
mod chat_start;
mod cli;
mod clinics;
mod consult_media;
mod consult_webrtc;
mod consults;
mod documents;
mod errors;
mod faults;
mod helpers;
mod identity;
mod identity_link_mail;
mod identity_merge;
mod keys;
mod lgpd;
mod lgpd_cli;
mod limits;
mod logs;
mod mail;
mod mfa;
mod multinode;
mod multinode_limits;
mod oidc;
mod ordering;
mod passkey_authenticator;
mod passkeys;
mod patient_search;
mod patients;
mod processes;
mod queue;
mod raw_db;
mod record;
mod sessions;
mod signup;
mod sms;
mod traces;
mod waitlist;
#[path = "../common/webrtc_media.rs"]
mod webrtc_media;
mod whatsapp;
mod ws;
mod ws_client;
