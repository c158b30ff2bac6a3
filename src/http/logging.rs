//! The root span of every HTTP request, without the secrets some URLs carry.
//!
//! tracing-actix-web's default span records `http.target`, the raw path and query, on every
//! log line of the request. Several URLs carry a credential: the WebSocket ticket
//! (`/ws?ticket=…`), the calendar feed (`/ical/{token}`), the patient's teleconsultation
//! link (`/api/public/consults/{token}`), a document's verification code
//! (`/api/public/documents/{code}`, `/v/{id}?_secretCode=…`). So the target is logged
//! with the values of those path parameters replaced by their name, and with the query's
//! parameter names only.

use actix_web::HttpMessage as _;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

/// Path parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &["{token}", "{code}"];

/// [`RootSpanBuilder`] that logs no secret from the URL.
pub struct RedactedRootSpan;

impl RootSpanBuilder for RedactedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern();
        let method = request.method().as_str().to_string();
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        let info = request.connection_info();
        tracing::info_span!(
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
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
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
