//! Traces: a real `atende serve` with `log.otlp_endpoint` sends each request's span to an
//! OpenTelemetry collector over OTLP/HTTP with JSON bodies. The collector here is a contract
//! server written from the OTLP specification (`POST /v1/traces`, an
//! `ExportTraceServiceRequest` in the protobuf JSON mapping, ids as hex): it keeps what it
//! is sent.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::processes::Env;

/// What the collector was sent: every export request's body.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<Value>>>);

impl Collected {
    /// Every span received, with its resource's attributes.
    fn spans(&self) -> Vec<(Value, Value)> {
        let bodies = self.0.lock().expect("lock").clone();
        let mut out = Vec::new();
        for body in bodies {
            for rs in body["resourceSpans"].as_array().into_iter().flatten() {
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for span in ss["spans"].as_array().into_iter().flatten() {
                        out.push((rs["resource"].clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    fn raw(&self) -> String {
        serde_json::to_string(&*self.0.lock().expect("lock")).expect("json")
    }
}

async fn export(req: HttpRequest, body: web::Bytes, got: web::Data<Collected>) -> HttpResponse {
    let json_body = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return HttpResponse::UnsupportedMediaType().finish();
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v["resourceSpans"].is_array() => {
            got.0.lock().expect("lock").push(v);
            // ExportTraceServiceResponse: everything accepted.
            HttpResponse::Ok().json(json!({}))
        }
        _ => HttpResponse::BadRequest().finish(),
    }
}

/// Start the collector on a free port: its base URL and what it receives.
fn collector() -> (String, Collected) {
    let got = Collected::default();
    let data = web::Data::new(got.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/v1/traces", web::post().to(export))
    })
    .workers(1)
    .listen(listener)
    .expect("listen")
    .run();
    actix_web::rt::spawn(server);
    (format!("http://127.0.0.1:{port}"), got)
}

/// The value of a span or resource attribute (`{"key", "value": {"stringValue"|…}}`).
fn attribute<'a>(holder: &'a Value, key: &str) -> Option<&'a Value> {
    holder["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn each_request_is_a_trace_named_by_its_request_id_sent_to_the_collector() {
    let (endpoint, got) = collector();
    let env = Env::new(None)
        .await
        .set("ATENDE_LOG__OTLP_ENDPOINT", &endpoint)
        .set("ATENDE_LOG__SERVICE_NAME", "atende-teste");
    let node = env.start().await;
    let http = reqwest::Client::new();

    // A request of its own: its trace id is its request id.
    let resp = http
        .get(format!("{}/api/me", node.base))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), reqwest::StatusCode::UNAUTHORIZED);
    let request_id = resp
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer names its request")
        .to_string();
    let own_trace = request_id.replace('-', "");

    // A request from a caller that traces: it continues the caller's trace.
    let caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let resp = http
        .get(format!("{}/api/me", node.base))
        .header("traceparent", format!("00-{caller_trace}-{caller_span}-01"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), reqwest::StatusCode::UNAUTHORIZED);

    // A URL carrying a credential: the trace holds its route, never the token.
    let token = "segredo-do-calendario-8c1f0e";
    let _ = http
        .get(format!("{}/ical/{token}", node.base))
        .send()
        .await
        .expect("ical");

    // Stopping flushes what is still buffered.
    let status = node.terminate().await;
    assert!(status.success(), "exit status {status}");

    let spans = got.spans();
    let requests: Vec<&(Value, Value)> = spans
        .iter()
        .filter(|(_, s)| s["name"] == "GET /api/me")
        .collect();
    assert_eq!(requests.len(), 2, "one span per request: {}", got.raw());
    let own = requests
        .iter()
        .find(|(_, s)| s["traceId"] == own_trace.as_str())
        .unwrap_or_else(|| panic!("no trace {own_trace} (the request id): {}", got.raw()));
    let (resource, span) = own;
    assert_eq!(
        attribute(resource, "service.name"),
        Some(&json!({"stringValue": "atende-teste"}))
    );
    // SPAN_KIND_SERVER.
    assert_eq!(span["kind"], 2, "{span}");
    assert_eq!(
        attribute(span, "http.route"),
        Some(&json!({"stringValue": "/api/me"}))
    );
    // An int64 in the JSON mapping: a string, or a number from lenient encoders.
    let status_code = attribute(span, "http.status_code").map(|v| &v["intValue"]);
    assert!(
        status_code == Some(&json!("401")) || status_code == Some(&json!(401)),
        "{span}"
    );
    assert_eq!(
        attribute(span, "request_id"),
        Some(&json!({"stringValue": request_id}))
    );

    let continued = requests
        .iter()
        .find(|(_, s)| s["traceId"] == caller_trace)
        .unwrap_or_else(|| panic!("the caller's trace was not continued: {}", got.raw()));
    assert_eq!(continued.1["parentSpanId"], caller_span);

    let ical = spans
        .iter()
        .find(|(_, s)| attribute(s, "http.route") == Some(&json!({"stringValue": "/ical/{token}"})))
        .unwrap_or_else(|| panic!("no span for the calendar feed: {}", got.raw()));
    assert_eq!(
        attribute(&ical.1, "http.target"),
        Some(&json!({"stringValue": "/ical/{token}"}))
    );
    assert!(
        !got.raw().contains(token),
        "a credential reached the traces"
    );
}
