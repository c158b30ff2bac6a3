//! Typed, layered configuration.
//!
//! Layers, later wins: the built-in `config/default.toml`, an optional file given with
//! `--config` (or `ATENDE_CONFIG`), then `ATENDE_<SECTION>__<KEY>` environment variables.
//! `DATABASE_URL` and `REDIS_URL` are honoured as the conventional shortcuts.
//! Secrets are wrapped in [`Secret`] so they never reach a log line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

mod backup;
mod billing;
mod files;
mod messaging;
mod secrets;
pub use backup::BackupSettings;
pub use billing::PixSettings;
pub use messaging::{MessagingSettings, SmsSettings, SmtpSecurity, SmtpSettings, WhatsappSettings};

/// The defaults shipped inside the binary, so a bare `atende serve` needs no files.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// Access the secret value. Call sites are easy to grep for.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub data: DataSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub realtime: RealtimeSettings,
    pub chat: ChatSettings,
    pub agenda: AgendaSettings,
    pub documents: DocumentSettings,
    pub consult: ConsultSettings,
    pub media: MediaSettings,
    pub security: SecuritySettings,
    pub lgpd: LgpdSettings,
    pub log: LogSettings,
    pub audit: AuditSettings,
    pub record: RecordSettings,
    pub messaging: MessagingSettings,
    pub backup: BackupSettings,
    pub pix: PixSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub public_url: String,
    pub trust_proxy_headers: bool,
    pub json_limit_bytes: usize,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// May carry a password, hence secret.
    pub url: Secret<String>,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Secret<String>,
    /// While Redis is unreachable, how often each node reads the events of the topics its
    /// clients follow from the database.
    pub fallback_poll_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeSettings {
    pub heartbeat_interval_secs: u64,
    pub client_timeout_secs: u64,
    pub auth_timeout_secs: u64,
    pub max_frame_bytes: usize,
    pub outbound_buffer: usize,
    pub rate_per_sec: u32,
    pub rate_burst: u32,
    /// Incoming bytes per second per connection, and the burst.
    pub rate_bytes_per_sec: u64,
    pub rate_bytes_burst: u64,
    /// Frames per second per user across their connections on one node, and the burst.
    pub user_rate_per_sec: u32,
    pub user_rate_burst: u32,
    /// Seconds a connection may stay over its budget before it is closed (1008).
    pub flood_close_secs: u64,
    pub replay_limit: i64,
    /// How long a gap in a topic's seqs waits for the missing events on the bus before they
    /// are read from the database.
    pub gap_hold_ms: u64,
    /// Pause between two database reads of a gap that is not visible yet.
    pub gap_retry_ms: u64,
    /// Reads of one gap before the connection is closed (1012) for the client to resume.
    pub gap_max_reads: u32,
    pub entity_idle_secs: u64,
    pub ticket_ttl_secs: u64,
    /// Longest life of one WebSocket connection; then it is closed with 4001 and the client
    /// authenticates again.
    pub max_socket_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSettings {
    pub edit_window_secs: u64,
    pub max_attachment_bytes: usize,
    pub max_messages_per_minute: u32,
    /// Sends that may wait for one chat room before more are refused with `overloaded`.
    pub max_waiting_per_room: usize,
    /// Sends that may wait for all of this node's chat rooms together.
    pub max_waiting_per_node: usize,
    /// The retry hint of an `overloaded` refusal, in milliseconds.
    pub overload_retry_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    pub jwt_secret: Secret<String>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    pub encryption_active_key: String,
    pub encryption_keys: BTreeMap<String, Secret<String>>,
    /// Audit keys (HMAC-SHA256, base64 of 32 bytes) by key id; the active one seals new
    /// audit rows and anchors. Never stored in the database.
    pub audit_active_key: String,
    pub audit_keys: BTreeMap<String, Secret<String>>,
    pub login_throttle: ThrottleSettings,
    pub limits: AbuseLimitSettings,
    pub mfa: MfaSettings,
    #[serde(default)]
    pub oidc: OidcSettings,
}

/// OpenID Connect login for clinic staff (each clinic sets its own provider).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OidcSettings {
    /// Accept `http://` issuers and endpoints (a provider on this machine, in tests). Off in
    /// production: the provider's answers would travel in the clear.
    pub allow_http: bool,
    /// Seconds atende waits for a provider's discovery, keys or token endpoint.
    pub http_timeout_secs: u64,
    /// Seconds a provider's discovery document and signing keys are kept before refetching
    /// (an unknown key id refetches at once).
    pub cache_secs: u64,
    /// Seconds a login sent to the provider may take to come back (the `state` dies then).
    pub login_ttl_secs: u64,
    /// Clock difference tolerated on an ID token's `exp` and `iat`.
    pub clock_skew_secs: u64,
    /// `acr` values that mean the provider checked a second factor (besides `amr`).
    pub mfa_acr_values: Vec<String>,
    /// Logins one client address may start in an hour (each keeps a row for its life).
    pub starts_per_address_per_hour: u32,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            allow_http: false,
            http_timeout_secs: 10,
            cache_secs: 3600,
            login_ttl_secs: 600,
            clock_skew_secs: 60,
            mfa_acr_values: vec![
                "http://schemas.openid.net/pape/policies/2007/06/multi-factor".into(),
            ],
            starts_per_address_per_hour: 60,
        }
    }
}

/// Two-factor login (TOTP with recovery codes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaSettings {
    /// The issuer authenticator apps show beside the account (no `:`).
    pub issuer: String,
    /// Seconds the `mfa_token` of a login awaiting its second factor stays valid.
    pub challenge_ttl_secs: u64,
    /// Wrong codes after which an `mfa_token` is dead.
    pub max_code_failures: u32,
}

/// Abuse limits beyond login (each answered with 429 and `Retry-After`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbuseLimitSettings {
    /// Patient sign-ups from one client address in any 24 hours (all nodes together).
    pub signups_per_address_per_day: u32,
    /// Public document lookups by a code that matches nothing, per client address and
    /// window (per node).
    pub verification_misses_per_address: u32,
    pub verification_window_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    pub max_failures_per_account: u32,
    pub account_window_secs: u64,
    pub max_attempts_per_ip: u32,
    pub ip_window_secs: u64,
    /// Days a device stays known to an account after a successful login there.
    pub known_device_days: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgendaSettings {
    /// Minutes a freed slot is held for the waitlist patient it was offered to.
    pub waitlist_hold_minutes: u32,
    /// Bookings (not cancelled) a patient may make themselves in any 24 hours, all clinics
    /// together; staff bookings do not count.
    pub max_bookings_per_patient_per_day: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsultSettings {
    /// Minutes before the appointment's start when the patient's link opens the room.
    pub link_lead_minutes: u32,
    /// STUN server URLs handed to browsers (`stun:host:port`).
    pub stun_urls: Vec<String>,
    /// TURN server URLs (`turn:host:port?transport=udp`, `turns:…`); empty: no TURN.
    pub turn_urls: Vec<String>,
    /// coturn's `static-auth-secret` (REST API credentials are derived from it).
    pub turn_secret: Secret<String>,
    /// Lifetime of the TURN credentials handed out (fresh ones at every ICE restart).
    pub turn_credential_ttl_secs: u64,
    /// A call nobody has been connected to for this long ends (reason `abandoned`).
    pub empty_call_timeout_secs: u64,
}

/// Whether teleconsultation media goes through atende's own media relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayMode {
    /// Always peer to peer (STUN/TURN); no third participants.
    Never,
    /// Peer to peer first; through the relay when direct ICE fails or a guest is invited.
    Fallback,
    /// Every call through the relay.
    Always,
}

impl RelayMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayMode::Never => "never",
            RelayMode::Fallback => "fallback",
            RelayMode::Always => "always",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSettings {
    /// `never`, `fallback` or `always` (see [`RelayMode`]).
    pub relay: RelayMode,
    /// UDP addresses the server's WebRTC peers (pre-call check, relay) bind; `0.0.0.0:0`
    /// means every non-loopback interface, port 0 an ephemeral port per connection.
    pub udp_addrs: Vec<String>,
    /// Public addresses to announce instead of the bound ones (a server behind 1:1 NAT).
    pub nat_1to1_ips: Vec<String>,
    /// Longest pre-call check, in seconds.
    pub check_max_secs: u64,
    /// Most server peers (check + relay connections) this node holds at once.
    pub max_peers: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSettings {
    /// Signer threads (the `SyncArbiter` pool); 0 = one per CPU core.
    pub signer_threads: usize,
    /// Whether this node signs documents. A node that does not still accepts them (they
    /// wait as `pending`) and another node's signers pick them up at its next start.
    pub sign_on_this_node: bool,
    /// Common name of the installation's own CA, created on first need.
    pub ca_name: String,
    /// Seconds a signer's lease on a pending document keeps other signers away; a document
    /// whose signer died is picked up again once it runs out.
    pub signing_lease_secs: u64,
    /// PEM file of the ICP-Brasil roots; a signature not chaining to one of them carries the
    /// "não ICP-Brasil" notice (empty: every signature does).
    pub icp_brasil_roots: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// How often each node appends the audit chain's head to the anchor file (also at
    /// shutdown).
    pub anchor_interval_secs: u64,
    /// The append-only anchor file; empty: `<data.dir>/audit-anchors.log`.
    pub anchor_path: PathBuf,
}

/// The clinical record.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSettings {
    /// Hours after its creation at which a draft encounter locks by itself.
    pub auto_lock_hours: u32,
    /// Hours a "break the glass" opening of a record lasts.
    pub break_glass_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LgpdSettings {
    /// Version of the terms of use and privacy policy a patient must accept at sign-up.
    pub terms_version: String,
    /// The data protection officer (encarregado, LGPD art. 41): shown in the patient portal
    /// and on the public booking page. Empty: not shown.
    pub dpo_name: String,
    pub dpo_email: String,
    pub dpo_phone: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
    /// An OpenTelemetry collector's OTLP/HTTP base URL (`http://collector:4318`): spans are
    /// sent to `<it>/v1/traces`. Empty: no traces.
    pub otlp_endpoint: String,
    /// The `service.name` the traces carry.
    pub service_name: String,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A start-up configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration error: {0}")]
    Invalid(String),
    #[error("could not read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Settings {
    /// Load defaults, an optional file, and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &env)
    }

    /// Load defaults, an optional file and the given environment (tests pass their own).
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let env = &files::resolve(env)?;
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let mut overrides: BTreeMap<String, String> = BTreeMap::new();
        for (key, value) in env {
            if let Some(rest) = key.strip_prefix("ATENDE_") {
                // The config file's path, and the test harness's own variables
                // (`ATENDE_TEST_SMTP`, `ATENDE_TEST_FAULTS`, `ATENDE_BENCH`…): not settings.
                if rest == "CONFIG" || rest == "BENCH" || rest.starts_with("TEST_") {
                    continue;
                }
                let path = rest
                    .split("__")
                    .map(str::to_ascii_lowercase)
                    .collect::<Vec<_>>()
                    .join(".");
                overrides.insert(path, value.clone());
            }
        }
        let shortcut = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        if let Some(url) = shortcut("DATABASE_URL") {
            overrides.entry("database.url".into()).or_insert(url);
        }
        if let Some(url) = shortcut("REDIS_URL") {
            overrides.entry("redis.url".into()).or_insert(url);
        }
        for (key, value) in overrides {
            builder = builder
                .set_override(key.as_str(), typed_value(&value))
                .map_err(|e| ConfigError::Invalid(format!("{key}: {e}")))?;
        }
        let cfg = builder
            .build()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        let settings: Settings = cfg
            .try_deserialize()
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        settings.validate()?;
        Ok(settings)
    }

    /// `server.public_url` without its trailing slash, or — when empty — one derived from
    /// host and port (`0.0.0.0`/`::` shown as `localhost`).
    pub fn public_base_url(&self, port: u16) -> String {
        if !self.server.public_url.is_empty() {
            return self.server.public_url.trim_end_matches('/').to_string();
        }
        let host = match self.server.host.as_str() {
            "0.0.0.0" | "::" => "localhost",
            h => h,
        };
        format!("http://{host}:{port}")
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if self.security.access_token_ttl_secs == 0 {
            return bad("security.access_token_ttl_secs", "must be greater than 0");
        }
        if !(1..=720).contains(&self.record.auto_lock_hours) {
            return bad("record.auto_lock_hours", "must be between 1 and 720");
        }
        if !(1..=72).contains(&self.record.break_glass_hours) {
            return bad("record.break_glass_hours", "must be between 1 and 72");
        }
        if !self.consult.turn_urls.is_empty() && self.consult.turn_secret.expose().is_empty() {
            return bad(
                "consult.turn_secret",
                "required when consult.turn_urls is set",
            );
        }
        if !(60..=86_400).contains(&self.consult.turn_credential_ttl_secs) {
            return bad(
                "consult.turn_credential_ttl_secs",
                "must be between 60 and 86400",
            );
        }
        if self.consult.empty_call_timeout_secs == 0 {
            return bad("consult.empty_call_timeout_secs", "must be greater than 0");
        }
        if self.media.udp_addrs.is_empty() {
            return bad("media.udp_addrs", "needs at least one address");
        }
        if let Some(a) = self
            .media
            .udp_addrs
            .iter()
            .find(|a| a.parse::<std::net::SocketAddr>().is_err())
        {
            return bad("media.udp_addrs", &format!("not an ip:port address: {a}"));
        }
        if let Some(a) = self
            .media
            .nat_1to1_ips
            .iter()
            .find(|a| a.parse::<std::net::IpAddr>().is_err())
        {
            return bad("media.nat_1to1_ips", &format!("not an IP address: {a}"));
        }
        if !(5..=600).contains(&self.media.check_max_secs) {
            return bad("media.check_max_secs", "must be between 5 and 600");
        }
        self.messaging.validate()?;
        self.backup.validate()?;
        self.pix.validate()?;
        if self.security.refresh_token_ttl_days == 0 {
            return bad("security.refresh_token_ttl_days", "must be greater than 0");
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be greater than 0");
        }
        let otlp = &self.log.otlp_endpoint;
        if !otlp.is_empty() && !otlp.starts_with("http://") {
            return bad(
                "log.otlp_endpoint",
                "must be an http:// URL (a collector on the node or its network; see docs/operations.md)",
            );
        }
        if self.log.service_name.trim().is_empty() {
            return bad("log.service_name", "must not be empty");
        }
        let rt = &self.realtime;
        if rt.heartbeat_interval_secs == 0 || rt.client_timeout_secs <= rt.heartbeat_interval_secs {
            return bad(
                "realtime.client_timeout_secs",
                "must be greater than realtime.heartbeat_interval_secs (> 0)",
            );
        }
        if rt.ticket_ttl_secs == 0
            || rt.auth_timeout_secs == 0
            || rt.rate_per_sec == 0
            || rt.replay_limit <= 0
            || rt.entity_idle_secs == 0
        {
            return bad(
                "realtime",
                "ticket_ttl_secs, auth_timeout_secs, rate_per_sec, replay_limit and entity_idle_secs must be > 0",
            );
        }
        if rt.max_socket_secs == 0 {
            return bad("realtime.max_socket_secs", "must be greater than 0");
        }
        if rt.rate_bytes_burst < rt.max_frame_bytes as u64 || rt.rate_bytes_per_sec == 0 {
            return bad(
                "realtime.rate_bytes_burst",
                "must be at least realtime.max_frame_bytes (and rate_bytes_per_sec > 0)",
            );
        }
        if rt.user_rate_per_sec == 0 || rt.user_rate_burst == 0 || rt.flood_close_secs == 0 {
            return bad(
                "realtime",
                "user_rate_per_sec, user_rate_burst and flood_close_secs must be > 0",
            );
        }
        if !(2..=3600).contains(&self.documents.signing_lease_secs) {
            return bad("documents.signing_lease_secs", "must be between 2 and 3600");
        }
        if rt.gap_max_reads == 0 {
            return bad("realtime.gap_max_reads", "must be greater than 0");
        }
        if rt.outbound_buffer == 0 || rt.max_frame_bytes < 1024 || rt.rate_burst == 0 {
            return bad(
                "realtime",
                "outbound_buffer and rate_burst must be > 0 and max_frame_bytes >= 1024",
            );
        }
        if !(1..=1440).contains(&self.agenda.waitlist_hold_minutes) {
            return bad("agenda.waitlist_hold_minutes", "must be between 1 and 1440");
        }
        let limits = &self.security.limits;
        if limits.signups_per_address_per_day == 0
            || limits.verification_misses_per_address == 0
            || limits.verification_window_secs == 0
        {
            return bad(
                "security.limits",
                "signups_per_address_per_day, verification_misses_per_address and verification_window_secs must be > 0",
            );
        }
        if self.security.mfa.issuer.trim().is_empty() || self.security.mfa.issuer.contains(':') {
            return bad(
                "security.mfa.issuer",
                "must be a non-empty name without ':'",
            );
        }
        if !(30..=3600).contains(&self.security.mfa.challenge_ttl_secs) {
            return bad(
                "security.mfa.challenge_ttl_secs",
                "must be between 30 and 3600",
            );
        }
        if !(1..=20).contains(&self.security.mfa.max_code_failures) {
            return bad("security.mfa.max_code_failures", "must be between 1 and 20");
        }
        if !(60..=3600).contains(&self.security.oidc.login_ttl_secs) {
            return bad(
                "security.oidc.login_ttl_secs",
                "must be between 60 and 3600",
            );
        }
        if !(1..=120).contains(&self.security.oidc.http_timeout_secs) {
            return bad(
                "security.oidc.http_timeout_secs",
                "must be between 1 and 120",
            );
        }
        if self.security.oidc.clock_skew_secs > 600 {
            return bad("security.oidc.clock_skew_secs", "must be at most 600");
        }
        if !(1..=3650).contains(&self.security.login_throttle.known_device_days) {
            return bad(
                "security.login_throttle.known_device_days",
                "must be between 1 and 3650",
            );
        }
        if self.agenda.max_bookings_per_patient_per_day == 0 {
            return bad(
                "agenda.max_bookings_per_patient_per_day",
                "must be greater than 0",
            );
        }
        if self.chat.edit_window_secs > 30 * 24 * 3600 {
            return bad("chat.edit_window_secs", "must be at most 30 days (2592000)");
        }
        if self.chat.max_waiting_per_room == 0 || self.chat.max_waiting_per_node == 0 {
            return bad(
                "chat",
                "max_waiting_per_room and max_waiting_per_node must be > 0",
            );
        }
        if self.chat.max_messages_per_minute == 0 || self.chat.max_attachment_bytes == 0 {
            return bad(
                "chat",
                "max_messages_per_minute and max_attachment_bytes must be > 0",
            );
        }
        if self.lgpd.terms_version.trim().is_empty() {
            return bad("lgpd.terms_version", "must not be empty");
        }
        let dpo_email = self.lgpd.dpo_email.trim();
        if !dpo_email.is_empty()
            && (dpo_email.split('@').count() != 2 || dpo_email.contains(char::is_whitespace))
        {
            return bad("lgpd.dpo_email", "is not an e-mail address");
        }
        let url = self.database.url.expose();
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return bad(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            );
        }
        for (id, key) in &self.security.encryption_keys {
            match B64.decode(key.expose()) {
                Ok(bytes) if bytes.len() == 32 => {}
                _ => {
                    return bad(
                        &format!("security.encryption_keys.{id}"),
                        "must be base64 of exactly 32 bytes",
                    );
                }
            }
        }
        for (id, key) in &self.security.audit_keys {
            match B64.decode(key.expose()) {
                Ok(bytes) if bytes.len() == 32 && !id.contains(':') => {}
                _ => {
                    return bad(
                        &format!("security.audit_keys.{id}"),
                        "must be base64 of exactly 32 bytes (and the id must not contain ':')",
                    );
                }
            }
        }
        if !self.security.audit_keys.is_empty()
            && !self
                .security
                .audit_keys
                .contains_key(&self.security.audit_active_key)
        {
            return bad(
                "security.audit_active_key",
                "names a key that is not in security.audit_keys",
            );
        }
        if !(1..=86_400).contains(&self.audit.anchor_interval_secs) {
            return bad("audit.anchor_interval_secs", "must be between 1 and 86400");
        }
        if !self.security.encryption_keys.is_empty()
            && !self
                .security
                .encryption_keys
                .contains_key(&self.security.encryption_active_key)
        {
            return bad(
                "security.encryption_active_key",
                "names a key that is not in security.encryption_keys",
            );
        }
        Ok(())
    }

    /// The database URL, defaulting to an SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        let url = self.database.url.expose();
        if url.is_empty() {
            format!("sqlite://{}", self.data.dir.join("atende.db").display())
        } else {
            url.clone()
        }
    }

    /// The audit anchor file: `audit.anchor_path`, or `<data.dir>/audit-anchors.log`.
    pub fn audit_anchor_path(&self) -> PathBuf {
        if self.audit.anchor_path.as_os_str().is_empty() {
            self.data.dir.join("audit-anchors.log")
        } else {
            self.audit.anchor_path.clone()
        }
    }

    pub fn uses_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    /// Fill in missing secrets from `<data.dir>/secrets.toml`, generating and saving them
    /// on first start. Returns a sentence for the log when something was generated.
    pub fn ensure_secrets(&mut self) -> Result<Option<String>, ConfigError> {
        self.fill_secrets(true)
    }

    /// Fill in missing secrets from `<data.dir>/secrets.toml` if it exists, never creating
    /// any (for `atende audit verify`: a fresh key could only report every row as bad).
    pub fn existing_secrets(&mut self) -> Result<Option<String>, ConfigError> {
        self.fill_secrets(false)
    }
}

/// Environment values are strings; give numbers and booleans their type so that
/// `ATENDE_SERVER__PORT=9000` fills a `u16`. A string field still accepts them.
fn typed_value(raw: &str) -> config::Value {
    if let Ok(v) = raw.parse::<i64>() {
        return v.into();
    }
    if raw == "true" || raw == "false" {
        return (raw == "true").into();
    }
    raw.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_without_any_file_or_variable() {
        let s = Settings::load_from(None, &[]).expect("defaults load");
        assert_eq!(s.server.port, 8080);
        assert!(s.uses_sqlite());
        assert_eq!(s.lgpd.terms_version, "2026-01");
    }

    #[test]
    fn environment_overrides_nested_keys() {
        let s = Settings::load_from(
            None,
            &env(&[
                ("ATENDE_SERVER__PORT", "9001"),
                ("ATENDE_SECURITY__LOGIN_THROTTLE__MAX_ATTEMPTS_PER_IP", "3"),
                ("DATABASE_URL", "postgres://u@h/db"),
            ]),
        )
        .expect("loads");
        assert_eq!(s.server.port, 9001);
        assert_eq!(s.security.login_throttle.max_attempts_per_ip, 3);
        assert!(!s.uses_sqlite());
    }

    #[test]
    fn a_bad_value_names_its_key() {
        // The test harness's variables share the prefix but are not settings.
        let s = Settings::load_from(
            None,
            &env(&[
                ("ATENDE_TEST_SMTP", "127.0.0.1:2525"),
                ("ATENDE_TEST_MAILDIR", "/tmp/maildir"),
                ("ATENDE_BENCH", "1"),
            ]),
        )
        .expect("the test harness's variables are ignored");
        assert_eq!(s.server.port, 8080);
        let err = Settings::load_from(None, &env(&[("ATENDE_SERVER__PORT", "lots")]))
            .expect_err("must fail");
        assert!(err.to_string().contains("port"), "{err}");
        let err = Settings::load_from(None, &env(&[("ATENDE_SERVER__PROT", "1")]))
            .expect_err("unknown key must fail");
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2".to_string());
        assert_eq!(format!("{s:?}"), "[redacted]");
        let settings = Settings::load_from(
            None,
            &env(&[("ATENDE_SECURITY__JWT_SECRET", "super-secret-value")]),
        )
        .expect("loads");
        assert!(!format!("{settings:?}").contains("super-secret-value"));
    }

    #[test]
    fn secrets_are_generated_once_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dir_s = dir.path().display().to_string();
        let load = || {
            let mut s = Settings::load_from(None, &env(&[("ATENDE_DATA__DIR", dir_s.as_str())]))
                .expect("loads");
            s.ensure_secrets().expect("secrets");
            s
        };
        let first = load();
        let second = load();
        assert!(!first.security.jwt_secret.expose().is_empty());
        assert_eq!(first.security.jwt_secret, second.security.jwt_secret);
        assert_eq!(first.security.encryption_active_key, "k1");
        assert_eq!(first.security.audit_active_key, "a1");
        assert_eq!(
            first.security.audit_keys.get("a1"),
            second.security.audit_keys.get("a1")
        );
    }

    #[test]
    fn an_existing_secrets_file_gets_an_audit_key_added_without_losing_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("secrets.toml"),
            "jwt_secret = \"j\"\nencryption_active_key = \"k1\"\n[encryption_keys]\nk1 = \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"\n",
        )
        .expect("write");
        let dir_s = dir.path().display().to_string();
        let mut verify = Settings::load_from(None, &env(&[("ATENDE_DATA__DIR", dir_s.as_str())]))
            .expect("loads");
        verify.existing_secrets().expect("secrets");
        assert!(
            verify.security.audit_keys.is_empty(),
            "verify never creates a key"
        );
        let mut s = Settings::load_from(None, &env(&[("ATENDE_DATA__DIR", dir_s.as_str())]))
            .expect("loads");
        s.ensure_secrets().expect("secrets");
        assert_eq!(s.security.jwt_secret.expose(), "j");
        assert_eq!(s.security.encryption_active_key, "k1");
        assert_eq!(s.security.audit_active_key, "a1");
    }
}
