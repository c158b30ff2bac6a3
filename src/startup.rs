//! Building and running the application.

mod check;
pub use check::{ConfigReport, check_config, probe_ready};

use std::net::TcpListener;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, Next};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::actors::hub::Hub;
use crate::actors::protocol::close;
use crate::app::state::{AppState, Shared};
use crate::bus::redis::RedisBus;
use crate::bus::{EventBus, LocalBus};
use crate::config::Settings;
use crate::security::throttle::shared::SharedCounters;
use crate::store::Store;
use crate::telemetry::metrics_handle;

/// Content-Security-Policy for everything served: no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// A built, bound, not yet awaited server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Fill in secrets, connect and migrate the database, bind the port (0 = any free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, std::sync::Arc::new(crate::clock::SystemClock)).await
    }

    /// [`Application::build`] with the clock the new use cases read (tests pass a
    /// [`crate::clock::TestClock`] to move time forward).
    pub async fn build_with_clock(
        mut settings: Settings,
        clock: crate::clock::SharedClock,
    ) -> anyhow::Result<Self> {
        if let Some(note) = settings.ensure_secrets()? {
            tracing::info!("{note}");
        }
        if settings.uses_sqlite() {
            std::fs::create_dir_all(&settings.data.dir)?;
        }
        let store = Store::connect(&settings.database_url(), settings.database.max_connections)
            .await?
            .with_audit_keys(audit_keys(&settings)?)
            .with_field_cipher(
                crate::app::keys::field_cipher(&settings)?,
                settings.security.jwt_secret.expose().as_bytes(),
            );
        store.migrate().await?;
        let indexed = store.index_legacy_patients().await?;
        if indexed > 0 {
            tracing::info!(
                patients = indexed,
                "patient records written before identity encryption (names included) are now sealed and indexed"
            );
        }
        let names = store.seal_legacy_values().await?;
        if names > 0 {
            tracing::info!(
                accounts = names,
                "account names written before their encryption are now sealed"
            );
        }
        if let Some(legacy) = store.seal_legacy_audit().await? {
            tracing::info!(
                legacy_rows = legacy,
                "audit log: rows written before the audit key are now sealed by an audit.keyed row"
            );
        }
        tracing::info!(backend = store.backend(), "database ready");
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let json_limit = settings.server.json_limit_bytes;
        let node_id = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
        let hub = std::sync::Arc::new(Hub::new(node_id));
        let redis_url = settings.redis.url.expose().clone();
        let mut bus_health = None;
        let mut counters = None;
        let bus: std::sync::Arc<dyn EventBus> = if redis_url.is_empty() {
            std::sync::Arc::new(LocalBus::new(hub.clone()))
        } else {
            let installation = store.installation_name().await?;
            counters = Some(std::sync::Arc::new(
                SharedCounters::connect(&redis_url, &installation)
                    .await
                    .map_err(|e| anyhow::anyhow!("redis.url: cannot connect to Redis: {e}"))?,
            ));
            let redis = RedisBus::start(&redis_url, hub.clone())
                .await
                .map_err(|e| anyhow::anyhow!("redis.url: cannot connect to Redis: {e}"))?;
            bus_health = Some(redis.health());
            std::sync::Arc::new(redis)
        };
        tracing::info!(
            engine = bus.engine(),
            node = hub.node_id(),
            "event bus ready"
        );
        let state = AppState::new(
            settings,
            store,
            metrics_handle(),
            hub,
            Shared { bus, counters },
            port,
            clock,
        )?;
        let state = web::Data::new(state);
        if let Some(health) = bus_health {
            crate::bus::fallback::spawn_poller(
                state.store.clone(),
                state.cipher.clone(),
                state.hub.clone(),
                health,
                std::time::Duration::from_millis(state.settings.redis.fallback_poll_ms),
            );
        }
        spawn_housekeeping(state.store.clone());
        state.audit.clone().spawn_periodic(
            state.store.clone(),
            std::time::Duration::from_secs(state.settings.audit.anchor_interval_secs),
        );
        spawn_revocation_watch(state.clone());
        spawn_offer_sweeper(state.clone());
        spawn_consult_sweeper(state.clone());
        spawn_delivery(&state, port)?;
        crate::app::reminders::spawn(state.clone());
        state.documents.requeue_pending().await?;
        state.documents.sweep_orphans();
        // Index the bundled CID-10 now rather than on the first professional's keystroke.
        let cid10 = crate::domain::cid10::table().len();
        tracing::debug!(cid10, "CID-10 indexed");
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(middleware::from_fn(record_metrics))
                .wrap(middleware::from_fn(crate::http::logging::expose_request_id))
                .wrap(middleware::Compress::default())
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add(("Content-Security-Policy", CSP))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer"))
                        // API answers carry personal data: never cache them. Static files
                        // set their own Cache-Control.
                        .add(("Cache-Control", "no-store"))
                        .add((
                            "Permissions-Policy",
                            "camera=(self), microphone=(self), geolocation=()",
                        )),
                )
                .wrap(TracingLogger::<crate::http::logging::RedactedRootSpan>::new())
                .configure(|cfg| crate::http::configure(cfg, json_limit))
        })
        .workers(workers)
        .shutdown_timeout(10)
        .disable_signals()
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// A handle that stops this node gracefully (see [`Shutdown::shutdown`]).
    pub fn shutdown_handle(&self) -> Shutdown {
        Shutdown {
            server: self.server.handle(),
            state: self.state.clone(),
        }
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The audit keys from settings whose secrets are filled in.
pub fn audit_keys(settings: &Settings) -> anyhow::Result<crate::security::audit::AuditKeys> {
    let keys: Vec<(String, String)> = settings
        .security
        .audit_keys
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().clone()))
        .collect();
    crate::security::audit::AuditKeys::new(
        &settings.security.audit_active_key,
        keys.iter().map(|(k, v)| (k, v)),
    )
    .map_err(|e| anyhow::anyhow!("security.audit_keys: {e}"))
}

/// Count requests and time them, labelled by route pattern (never by raw path, which
/// would put ids in label values).
async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16().to_string();
    metrics::counter!("atende_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("atende_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    Ok(res)
}

/// Stops a node on purpose: WebSocket clients are told to reconnect elsewhere (close code
/// 1012, service restart), then the HTTP server stops accepting, lets in-flight requests
/// finish (up to 10 s) and exits.
#[derive(Clone)]
pub struct Shutdown {
    server: actix_web::dev::ServerHandle,
    state: web::Data<AppState>,
}

impl Shutdown {
    pub async fn shutdown(&self) {
        self.state
            .draining
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let n = self
            .state
            .hub
            .close_all(close::SERVICE_RESTART, "service restart");
        tracing::info!(
            connections = n,
            "shutting down: closing websocket sessions with 1012"
        );
        // Give the writers a moment to put the close frames on the wire.
        for _ in 0..50 {
            if self.state.hub.connection_count() == 0 {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        self.server.stop(true).await;
        // The last head this node saw, so a truncation of what it wrote is detected.
        if let Err(e) = self.state.audit.anchor_now(&self.state.store).await {
            tracing::warn!(error = %e, "audit anchoring at shutdown failed");
        }
        self.state.store.close().await;
    }
}

/// Wait for SIGTERM or Ctrl-C.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// This node's outbox delivery worker, with the channels configured (e-mail when
/// `messaging.smtp.host` is set, else into `messaging.mail_dir` when that is; WhatsApp when `messaging.whatsapp.phone_number_id` is, SMS
/// when `messaging.sms.account_sid` is).
fn spawn_delivery(state: &web::Data<AppState>, port: u16) -> anyhow::Result<()> {
    let m = &state.settings.messaging;
    let mut channels: Vec<std::sync::Arc<dyn crate::messaging::Channel>> = Vec::new();
    if !m.smtp.host.is_empty() {
        channels.push(std::sync::Arc::new(
            crate::messaging::email::SmtpChannel::new(&m.smtp)?,
        ));
    } else if !m.mail_dir.is_empty() {
        channels.push(std::sync::Arc::new(
            crate::messaging::maildir::MaildirChannel::new(
                std::path::Path::new(&m.mail_dir),
                &m.smtp,
            )?,
        ));
    }
    if m.whatsapp.enabled() {
        channels.push(std::sync::Arc::new(
            crate::messaging::whatsapp::WhatsappChannel::new(&m.whatsapp)?,
        ));
    }
    if m.sms.enabled() {
        channels.push(std::sync::Arc::new(crate::messaging::sms::SmsChannel::new(
            &m.sms,
        )?));
    }
    std::sync::Arc::new(crate::messaging::worker::Delivery {
        store: state.store.clone(),
        cipher: state.cipher.clone(),
        clock: state.clock.clone(),
        channels,
        settings: m.clone(),
        base_url: state.settings.public_base_url(port),
        owner: state.hub.node_id().to_string(),
        default_sender: m.smtp.from_name.clone(),
    })
    .spawn();
    Ok(())
}

/// Every ten minutes, delete spent WebSocket tickets and long-expired refresh tokens.
fn spawn_housekeeping(store: Store) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(std::time::Duration::from_secs(600));
        loop {
            every.tick().await;
            match store.prune_expired(crate::store::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "pruned expired tickets and tokens"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    });
}

/// Every 30 seconds, hand lapsed waitlist holds to the next patient (each clinic's agenda
/// actor does the work; any node may run it, the offer's status makes it happen once).
/// How often a node looks for login sessions revoked without a word on the bus.
const REVOCATION_POLL: std::time::Duration = std::time::Duration::from_secs(1);
/// How far back each look reaches behind the newest revocation seen: room for writers
/// whose clocks or commits lag a little.
const REVOCATION_SLACK_SECS: i64 = 5;

/// Close, within about a second, the connections of login sessions revoked by a process
/// that cannot reach this node's bus — `atende admin set-password` / `disable-user` on a
/// single node, or any node while Redis was down. Sessions revoked through the bus are
/// closed at once anyway; seeing them again here is harmless (nobody listens any more).
fn spawn_revocation_watch(state: actix_web::web::Data<AppState>) {
    use crate::bus::EventSink as _;
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(REVOCATION_POLL);
        let slack = chrono::Duration::seconds(REVOCATION_SLACK_SECS);
        let mut newest = crate::store::now();
        let mut seen: std::collections::HashMap<
            crate::domain::SessionId,
            chrono::DateTime<chrono::Utc>,
        > = std::collections::HashMap::new();
        loop {
            every.tick().await;
            let rows = match state.store.sessions_revoked_since(newest - slack).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::debug!(error = %e, "revocation watch failed");
                    continue;
                }
            };
            for (session, at) in rows {
                newest = newest.max(at);
                if seen.insert(session, at).is_none() {
                    state
                        .hub
                        .dispatch(&crate::bus::revocation::session_revoked_event(session));
                }
            }
            let horizon = newest - slack;
            seen.retain(|_, at| *at > horizon);
        }
    });
}

fn spawn_offer_sweeper(state: actix_web::web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(std::time::Duration::from_secs(30));
        loop {
            every.tick().await;
            let now = state.clock.now();
            let clinics = match state.store.clinics_with_lapsed_offers(now).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "waitlist sweep failed");
                    continue;
                }
            };
            for clinic in clinics {
                let sent = state
                    .registry
                    .agenda(clinic)
                    .send(crate::actors::agenda::waitlist::ExpireOffers { now })
                    .await;
                if let Ok(Err(e)) = sent {
                    tracing::warn!(code = e.code, "waitlist expiry failed");
                }
            }
        }
    });
}

/// Teleconsultations nobody attends: each node stamps the calls someone is connected to
/// through it, and any node ends the calls nobody has been connected to for
/// `consult.empty_call_timeout_secs` (the stored status makes each end happen once).
fn spawn_consult_sweeper(state: actix_web::web::Data<AppState>) {
    let timeout = std::time::Duration::from_secs(state.settings.consult.empty_call_timeout_secs);
    let period = (timeout / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    );
    actix_web::rt::spawn(async move {
        let mut every = actix_web::rt::time::interval(period);
        loop {
            every.tick().await;
            let now = crate::store::now();
            let live: Vec<uuid::Uuid> = state
                .hub
                .local_topics("consult:")
                .iter()
                .filter_map(|t| t.strip_prefix("consult:")?.parse().ok())
                .collect();
            if let Err(e) = state.store.touch_consult_presence(&live, now).await {
                tracing::warn!(error = %e, "consult presence stamp failed");
            }
            match crate::actors::consult::end_abandoned(state.registry.deps(), timeout).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(calls = n, "ended teleconsultations nobody attended"),
                Err(e) => tracing::warn!(code = e.code, "consult sweep failed"),
            }
        }
    });
}
