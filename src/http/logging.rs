//! The root span of every HTTP request, without the secrets some URLs carry.
//!
//! tracing-actix-web's default span records `http.target`, the raw path and query, on every
//! log line of the request. Several URLs carry a credential: the WebSocket ticket
//! (`/ws?ticket=…`), the calendar feed (`/ical/{token}`), the patient's teleconsultation
//! link (`/api/public/consults/{token}`), a document's verification code
//! (`/api/public/documents/{code}`, `/v/{id}?_secretCode=…`). So the target is logged
//! with the values of those path parameters replaced by their name, and with the query's
//! parameter names only.
//!
//! With traces on (`log.otlp_endpoint`), the span joins the caller's trace when the request
//! carries a W3C `traceparent`, and otherwise starts one whose trace id is the request id:
//! the `X-Request-Id` a response carries (and a log line's `request_id`) finds its trace.

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Path parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &["{token}", "{code}"];

/// [`RootSpanBuilder`] that logs no secret from the URL.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern();
        let method = request.method().as_str().to_string();
        let id = request.extensions().get::<RequestId>().copied();
        let request_id = id.map(|id| id.to_string()).unwrap_or_default();
        let info = request.connection_info();
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = %route.as_deref().unwrap_or("default"),
            http.scheme = %info.scheme(),
            http.client_ip = %info.realip_remote_addr().unwrap_or(""),
            http.target = %redacted_target(route.as_deref(), request.path(), request.query_string()),
            http.status_code = Empty,
            otel.name = %format!("{method} {}", route.as_deref().unwrap_or("default")),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        );
        join_trace(&span, request, id.map(uuid::Uuid::from));
        span
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Put the request's span in its trace: the caller's (a valid `traceparent`), else one whose
/// id is the request id. A no-op when traces are off.
fn join_trace(span: &Span, request: &ServiceRequest, request_id: Option<uuid::Uuid>) {
    let incoming = TraceContextPropagator::new().extract(&Headers(request.headers()));
    let parent = if incoming.span().span_context().is_valid() {
        incoming
    } else if let Some(id) = request_id {
        // The trace's root is this request's span; the parent named here is only the
        // carrier of the chosen trace id (collectors show it as a missing parent).
        opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_bytes(*id.as_bytes()),
            SpanId::from_bytes(rand::random::<[u8; 8]>()),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        ))
    } else {
        return;
    };
    // Without the OpenTelemetry layer (traces off) there is nothing to join.
    let _ = span.set_parent(parent);
}

/// Request headers as the W3C trace-context propagator reads them.
struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

/// Middleware: every response carries its request's id (`X-Request-Id`), the id its log
/// lines and, with traces on, its trace carry, for a user or operator to quote.
pub async fn expose_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(id) = id
        && let Ok(value) = HeaderValue::from_str(&id.to_string())
    {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

/// The path, or the route pattern when a parameter of it is a secret; the query as its
/// parameter names (`?ticket=…`).
pub fn redacted_target(route: Option<&str>, path: &str, query: &str) -> String {
    let mut target = match route {
        Some(r) if SECRET_PARAMS.iter().any(|p| r.contains(p)) => r.to_string(),
        // An unmatched path may be anything (a mistyped link with its token): not logged.
        None => "(unmatched)".to_string(),
        Some(_) => path.to_string(),
    };
    if !query.is_empty() {
        let names: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| format!("{}=…", p.split('=').next().unwrap_or_default()))
            .collect();
        target.push('?');
        target.push_str(&names.join("&"));
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_and_queries_are_not_logged() {
        assert_eq!(
            redacted_target(Some("/ws"), "/ws", "ticket=s3cr3t&x"),
            "/ws?ticket=…&x=…"
        );
        assert_eq!(
            redacted_target(Some("/ical/{token}"), "/ical/abc.def", ""),
            "/ical/{token}"
        );
        assert_eq!(
            redacted_target(
                Some("/api/public/documents/{code}/pdf"),
                "/api/public/documents/ABCDE-FGHJK/pdf",
                ""
            ),
            "/api/public/documents/{code}/pdf"
        );
        assert_eq!(
            redacted_target(Some("/api/clinics/{clinic_id}"), "/api/clinics/42", ""),
            "/api/clinics/42"
        );
        assert_eq!(redacted_target(None, "/#/x/token", ""), "(unmatched)");
    }
}
