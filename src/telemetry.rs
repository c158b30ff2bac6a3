//! Logging (tracing), traces (OpenTelemetry, when configured) and metrics set-up.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{LogFormat, LogSettings};

/// What [`init_logging`] started that must be flushed before the process exits.
#[must_use = "call shutdown() before exiting, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Send the spans still buffered and stop the exporter (waits for the collector, up to
    /// its timeout). Call it outside the async runtime, as `atende` does after it stops.
    pub fn shutdown(self) {
        if let Some(provider) = self.traces
            && let Err(e) = provider.shutdown()
        {
            eprintln!("atende: traces not all sent to the collector: {e}");
        }
    }
}

/// Install the global tracing subscriber (once per process): log lines in the configured
/// format and, with `log.otlp_endpoint`, every span sent to that OpenTelemetry collector
/// (OTLP/HTTP, JSON), in batches, from a thread of its own.
pub fn init_logging(settings: &LogSettings) -> Telemetry {
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = match settings.format {
        LogFormat::Json => tracing_subscriber::fmt::layer().json().boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
    };
    let traces = if settings.otlp_endpoint.is_empty() {
        None
    } else {
        match tracer_provider(settings) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("atende: traces are off, the OTLP exporter could not start: {e}");
                None
            }
        }
    };
    // Spans go out at INFO whatever the log level: quiet logs (`warn`) still trace every
    // request.
    let otel = traces.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("atende"))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
            .boxed()
    });
    let _ = tracing_subscriber::registry()
        .with(lines.with_filter(filter))
        .with(otel)
        .try_init();
    Telemetry { traces }
}

/// The OTLP/HTTP URL spans go to: the collector's base URL with `/v1/traces` (as the
/// OpenTelemetry specification builds it from `OTEL_EXPORTER_OTLP_ENDPOINT`).
pub fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    }
}

fn tracer_provider(
    settings: &LogSettings,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(traces_url(&settings.otlp_endpoint))
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder()
                .with_service_name(settings.service_name.clone())
                .build(),
        )
        .build())
}

/// The process-wide Prometheus recorder. Installed on first use; later calls (several
/// apps in one test process) share it.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .map(|b| b.build_recorder())
                .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_traces_url_is_the_collectors_base_with_the_signal_path() {
        assert_eq!(
            super::traces_url("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            super::traces_url("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            super::traces_url("http://collector:4318/v1/traces"),
            "http://collector:4318/v1/traces"
        );
    }
}
