//! atende: a real-time clinic platform for Brazilian clinics.
//!
//! [`startup::Application::build`] turns [`config::Settings`] into a running server with its
//! bound port; production (`atende serve`) and the integration tests start it the same way.

pub mod actors;
pub mod app;
pub mod billing;
pub mod bus;
pub mod clock;
pub mod config;
pub mod demo;
pub mod documents;
pub mod domain;
pub mod http;
pub mod media;
pub mod messaging;
pub mod qr;
pub mod runtime;
pub mod security;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod ws;
