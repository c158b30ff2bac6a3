//! Building and running the application.

use std::net::TcpListener;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{self, Next};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::config::Settings;
use crate::state::AppState;
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
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        if let Some(note) = settings.ensure_secrets()? {
            tracing::info!("{note}");
        }
        if settings.uses_sqlite() {
            std::fs::create_dir_all(&settings.data.dir)?;
        }
        let store =
            Store::connect(&settings.database_url(), settings.database.max_connections).await?;
        store.migrate().await?;
        tracing::info!(backend = store.backend(), "database ready");
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))?;
        let port = listener.local_addr()?.port();
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, usize::from),
            n => n,
        };
        let json_limit = settings.server.json_limit_bytes;
        let state = web::Data::new(AppState::new(settings, store, metrics_handle())?);
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(middleware::from_fn(record_metrics))
                .wrap(middleware::Compress::default())
                .wrap(
                    middleware::DefaultHeaders::new()
                        .add(("Content-Security-Policy", CSP))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add((
                            "Permissions-Policy",
                            "camera=(self), microphone=(self), geolocation=()",
                        )),
                )
                .wrap(TracingLogger::default())
                .configure(|cfg| crate::http::configure(cfg, json_limit))
        })
        .workers(workers)
        .shutdown_timeout(10)
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

    /// A handle that can stop the server (graceful: in-flight requests finish).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
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
