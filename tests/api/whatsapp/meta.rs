//! Meta's WhatsApp Business Cloud API for the tests: the part atende uses, written from
//! Meta's published OpenAPI description (facebook/openapi, `business-messaging-api_v23.0.yaml`):
//!
//! - `POST /{Version}/{Phone-Number-ID}/messages` (operation `sendMessage`) with a bearer
//!   token; the body is checked against `TemplateMessage` = `BaseMessageProperties`
//!   (`messaging_product`, `recipient_type` ∈ {individual, group}, `to`, `type` required) and
//!   `TemplateObject` (`name`, `language` {`policy`: deterministic, `code`} required;
//!   `components[]` of `type` ∈ {header, body, button}; body `parameters[]` are
//!   `ParameterObject`s — a `text` one needs `text`, at most 32,768 characters; a button needs
//!   `sub_type` ∈ {quick_reply, url, catalog}, `index` and at least one `ButtonParameterObject`
//!   — `payload` needs `payload`, `text` needs `text`). The spec's `index` pattern
//!   (`^[2-6, 11-14]$`) contradicts its own example (`'0'`) and description ("0-9"); the
//!   server follows the description. The answer is a `MessageResponsePayload`; refusals an
//!   `ErrorResponse` (`error.message`, `error.type`, `error.code`).
//! - The webhook (`WebhookPayload`: `object`, `entry[].id`, `entry[].changes[]` with
//!   `field: messages` and a `value` that is a `StatusMessageValue` — `statuses[]` with `id`,
//!   `status`, `timestamp`, `recipient_id`, `errors[]` — or an `IncomingMessageValueGeneral`
//!   — `metadata`, `contacts[]`, `messages[]` of `ButtonMessage` / `TextMessage`), signed
//!   `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, body)>`.
//!
//! The tests tell it to fail ([`Meta::fail_next`]) and drive what a phone would do
//! (tapping a button, writing a reply) through the `*_webhook` builders and [`Meta::deliver`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

pub const VERSION: &str = "v23.0";
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const DISPLAY_NUMBER: &str = "551130000000";
pub const WABA_ID: &str = "419561257915477";
pub const ACCESS_TOKEN: &str = "EAAG-token-de-teste";
pub const APP_SECRET: &str = "segredo-do-app-meta";
pub const VERIFY_TOKEN: &str = "token-de-verificacao-atende";
pub const TEMPLATE: &str = "lembrete_consulta";

/// A message the server took.
#[derive(Debug, Clone)]
pub struct Received {
    pub wamid: String,
    pub body: Value,
}

#[derive(Default)]
struct Graph {
    received: Vec<Received>,
    /// Requests refused by validation, with the reason.
    refused: Vec<String>,
    /// Statuses to answer the next requests with, instead of taking them.
    fail: VecDeque<u16>,
    requests: usize,
}

#[derive(Clone)]
pub struct Meta {
    state: Arc<Mutex<Graph>>,
    pub base: String,
}

fn error(status: u16, message: &str, code: u32) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
                         "fbtrace_id": "AbCdEf123"}}),
    )
}

fn string<'a>(v: &'a Value, key: &str, at: &str) -> Result<&'a str, String> {
    v[key]
        .as_str()
        .ok_or_else(|| format!("{at}.{key} is required and must be a string"))
}

/// The request checked against the schema parts atende uses (module docs).
fn validate(body: &Value) -> Result<(), String> {
    if !body.is_object() {
        return Err("the body must be a JSON object".into());
    }
    if string(body, "messaging_product", "message")? != "whatsapp" {
        return Err("messaging_product must be whatsapp".into());
    }
    let rt = string(body, "recipient_type", "message")?;
    if !["individual", "group"].contains(&rt) {
        return Err(format!("recipient_type {rt} is not individual or group"));
    }
    let to = string(body, "to", "message")?;
    if to.is_empty()
        || !to
            .trim_start_matches('+')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!("to {to:?} is not a phone number"));
    }
    if string(body, "type", "message")? != "template" {
        return Err("only template messages are served here".into());
    }
    let t = &body["template"];
    if !t.is_object() {
        return Err("template is required for type template".into());
    }
    if string(t, "name", "template")?.is_empty() {
        return Err("template.name must not be empty".into());
    }
    let lang = &t["language"];
    if string(lang, "policy", "template.language")? != "deterministic" {
        return Err("template.language.policy must be deterministic".into());
    }
    if string(lang, "code", "template.language")?.is_empty() {
        return Err("template.language.code must not be empty".into());
    }
    let components = match &t["components"] {
        Value::Null => return Ok(()),
        Value::Array(c) => c,
        _ => return Err("template.components must be an array".into()),
    };
    for (i, c) in components.iter().enumerate() {
        let at = format!("template.components[{i}]");
        let params = c["parameters"].as_array();
        match string(c, "type", &at)? {
            "header" | "body" => {
                for (j, p) in params.into_iter().flatten().enumerate() {
                    let pat = format!("{at}.parameters[{j}]");
                    let kind = string(p, "type", &pat)?;
                    match kind {
                        "text" => {
                            if string(p, "text", &pat)?.chars().count() > 32_768 {
                                return Err(format!("{pat}.text is longer than 32768"));
                            }
                        }
                        "currency" | "date_time" | "document" | "image" | "video" => {
                            if !p[kind].is_object() {
                                return Err(format!("{pat}.{kind} is required"));
                            }
                        }
                        other => return Err(format!("{pat}.type {other} is not a parameter type")),
                    }
                }
            }
            "button" => {
                let sub = string(c, "sub_type", &at)?;
                if !["quick_reply", "url", "catalog"].contains(&sub) {
                    return Err(format!("{at}.sub_type {sub} is not allowed"));
                }
                let index = string(c, "index", &at)?;
                if index.len() != 1 || !index.as_bytes()[0].is_ascii_digit() {
                    return Err(format!("{at}.index {index:?} is not a position 0-9"));
                }
                let params = params
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| format!("{at}.parameters needs at least one item"))?;
                for (j, p) in params.iter().enumerate() {
                    let pat = format!("{at}.parameters[{j}]");
                    match string(p, "type", &pat)? {
                        "payload" => {
                            string(p, "payload", &pat)?;
                        }
                        "text" => {
                            string(p, "text", &pat)?;
                        }
                        other => return Err(format!("{pat}.type {other} is not payload or text")),
                    }
                    if sub == "quick_reply" && p["type"] != "payload" {
                        return Err(format!("{pat}: a quick reply carries a payload"));
                    }
                }
            }
            other => return Err(format!("{at}.type {other} is not header, body or button")),
        }
    }
    Ok(())
}

async fn send_message(
    st: web::Data<Arc<Mutex<Graph>>>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let mut g = st.lock().expect("lock");
    g.requests += 1;
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(ACCESS_TOKEN) {
        return error(401, "Invalid OAuth access token.", 190);
    }
    let (version, phone) = path.into_inner();
    if version != VERSION || phone != PHONE_NUMBER_ID {
        return error(400, "Unsupported post request. Object does not exist.", 100);
    }
    let json_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if let Some(status) = g.fail.pop_front() {
        return error(
            status,
            "An unexpected error has occurred. Please retry your request later.",
            2,
        );
    }
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let checked = match (json_type, parsed) {
        (false, _) => Err("Content-Type must be application/json".to_string()),
        (_, Err(e)) => Err(format!("the body is not JSON: {e}")),
        (_, Ok(v)) => validate(&v).map(|()| v),
    };
    let body = match checked {
        Ok(v) => v,
        Err(why) => {
            g.refused.push(why.clone());
            return error(400, &format!("(#100) Invalid parameter: {why}"), 100);
        }
    };
    let wamid = format!("wamid.{}", uuid::Uuid::new_v4().simple());
    let to = body["to"].as_str().unwrap_or_default().to_string();
    g.received.push(Received {
        wamid: wamid.clone(),
        body,
    });
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid, "message_status": "accepted"}],
    }))
}

fn envelope(value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": DISPLAY_NUMBER, "phone_number_id": PHONE_NUMBER_ID});
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]})
}

fn now_ts() -> String {
    chrono::Utc::now().timestamp().to_string()
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Meta {
    pub async fn start() -> Meta {
        let state = Arc::new(Mutex::new(Graph::default()));
        let data = web::Data::new(state.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route("/{version}/{phone}/messages", web::post().to(send_message))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Meta {
            state,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Answer the next requests with these HTTP statuses (then take messages again).
    pub fn fail_next(&self, statuses: &[u16]) {
        self.state
            .lock()
            .expect("lock")
            .fail
            .extend(statuses.iter().copied());
    }

    /// The messages taken, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("lock").received.clone()
    }

    /// Requests refused by validation, with why.
    pub fn refused(&self) -> Vec<String> {
        self.state.lock().expect("lock").refused.clone()
    }

    /// Every request to the messages endpoint, taken or not.
    pub fn requests(&self) -> usize {
        self.state.lock().expect("lock").requests
    }

    /// A status callback (`sent`, `delivered`, `read`, or `failed` with an error).
    pub fn status_webhook(wamid: &str, status: &str, recipient: &str) -> Value {
        let mut s = json!({"id": wamid, "status": status, "timestamp": now_ts(),
                           "recipient_id": recipient,
                           "pricing": {"billable": true, "pricing_model": "PMP", "category": "utility"}});
        if status == "failed" {
            s["errors"] = json!([{"code": 131026, "title": "Message undeliverable",
                                  "message": "Message undeliverable",
                                  "error_data": {"details": "Message Undeliverable."}}]);
        }
        envelope(json!({"statuses": [s]}))
    }

    /// The patient taps a quick-reply button of the message `context` (`ButtonMessage`).
    pub fn button_webhook(from: &str, context: &str, payload: &str, text: &str) -> Value {
        envelope(json!({
            "contacts": [{"profile": {"name": "Paciente"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.in{}", uuid::Uuid::new_v4().simple()),
                          "timestamp": now_ts(), "type": "button",
                          "context": {"from": DISPLAY_NUMBER, "id": context},
                          "button": {"payload": payload, "text": text}}],
        }))
    }

    /// The patient writes a text (`TextMessage`).
    pub fn text_webhook(from: &str, body: &str) -> Value {
        envelope(json!({
            "contacts": [{"profile": {"name": "Paciente"}, "wa_id": from}],
            "messages": [{"from": from, "id": format!("wamid.in{}", uuid::Uuid::new_v4().simple()),
                          "timestamp": now_ts(), "type": "text", "text": {"body": body}}],
        }))
    }

    /// Deliver a webhook to atende as Meta does: `POST` the body, signed with the app secret.
    pub async fn deliver(app_url: &str, body: &Value) -> reqwest::Response {
        let raw = serde_json::to_vec(body).expect("json");
        let sig = signature(APP_SECRET, &raw);
        Self::deliver_raw(app_url, raw, Some(sig)).await
    }

    /// Deliver bytes with the given signature header (or none).
    pub async fn deliver_raw(
        app_url: &str,
        raw: Vec<u8>,
        signature: Option<String>,
    ) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .post(format!("{app_url}/api/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .body(raw);
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send().await.expect("webhook call")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_check_refuses_what_the_spec_requires() {
        let good = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "5511987654321", "type": "template",
            "template": {"name": "t", "language": {"policy": "deterministic", "code": "pt_BR"},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "x"}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "0",
                     "parameters": [{"type": "payload", "payload": "p"}]}]}});
        assert_eq!(validate(&good), Ok(()));
        for (path, value) in [
            ("/messaging_product", json!("sms")),
            ("/template/language/policy", json!("fallback")),
            ("/template/components/1/index", json!("x")),
            ("/template/components/1/parameters", json!([])),
            ("/template/components/0/parameters/0/type", json!("emoji")),
        ] {
            let mut bad = good.clone();
            *bad.pointer_mut(path).expect("path") = value;
            assert!(validate(&bad).is_err(), "{path}");
        }
    }
}
