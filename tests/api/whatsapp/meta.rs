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
//! - `POST /{Version}/{Phone-Number-ID}/media` (operation `uploadImage`), `multipart/form-data`
//!   with `messaging_product` (whatsapp) and a binary `file` part, the same bearer token;
//!   answers `{"id": <media id>}`. A template's `header` may then carry a `document`
//!   parameter (`DocumentParameter`): a `MediaObject` with the `id` of an uploaded file or a
//!   `link`; "only PDF documents are supported for media-based message templates", so an id
//!   must name an uploaded PDF.
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
pub const DOCUMENT_TEMPLATE: &str = "documento_assinado";

/// A message the server took.
#[derive(Debug, Clone)]
pub struct Received {
    pub wamid: String,
    pub body: Value,
}

/// A file uploaded to the media endpoint.
#[derive(Debug, Clone)]
pub struct Media {
    pub id: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Default)]
struct Graph {
    received: Vec<Received>,
    media: Vec<Media>,
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

/// The refusal of a request without our token or that names another API version or
/// phone number; None: it is ours.
fn refused(req: &HttpRequest, (version, phone): (String, String)) -> Option<HttpResponse> {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(ACCESS_TOKEN) {
        return Some(error(401, "Invalid OAuth access token.", 190));
    }
    if version != VERSION || phone != PHONE_NUMBER_ID {
        return Some(error(
            400,
            "Unsupported post request. Object does not exist.",
            100,
        ));
    }
    None
}

async fn send_message(
    st: web::Data<Arc<Mutex<Graph>>>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let mut g = st.lock().expect("lock");
    g.requests += 1;
    if let Some(no) = refused(&req, path.into_inner()) {
        return no;
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
    if let Err(why) = uploaded_documents(&g.media, &body) {
        g.refused.push(why.clone());
        return error(400, &format!("(#100) Invalid parameter: {why}"), 100);
    }
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

/// Every `document` header parameter names an uploaded PDF by `id` (or gives a `link`).
fn uploaded_documents(media: &[Media], body: &Value) -> Result<(), String> {
    let params = body["template"]["components"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["type"] == "header")
        .filter_map(|c| c["parameters"].as_array())
        .flatten()
        .filter(|p| p["type"] == "document");
    for p in params {
        let d = &p["document"];
        match (d["id"].as_str(), d["link"].as_str()) {
            (Some(id), _) => {
                let m = media
                    .iter()
                    .find(|m| m.id == id)
                    .ok_or_else(|| format!("document.id {id} names no uploaded media"))?;
                if m.content_type != "application/pdf" || !m.bytes.starts_with(b"%PDF-") {
                    return Err(format!("document.id {id} is not a PDF"));
                }
            }
            (None, Some(_)) => {}
            (None, None) => return Err("document needs an id or a link".into()),
        }
    }
    Ok(())
}

/// One part of a `multipart/form-data` body.
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// The parts of a `multipart/form-data` body.
fn form_parts(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|b| !b.is_empty())
        .ok_or("multipart/form-data needs a boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let find = |hay: &[u8], needle: &[u8], from: usize| {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    };
    let mut parts = Vec::new();
    let mut at = find(body, &delimiter, 0).ok_or("no part delimiter")? + delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        let start = at + 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", start).ok_or("a part without headers")?;
        let head = std::str::from_utf8(&body[start..head_end]).map_err(|_| "headers not UTF-8")?;
        let next = find(body, &delimiter, head_end).ok_or("an unterminated part")?;
        let content = body[head_end + 4..next - 2].to_vec(); // CRLF before the delimiter
        let mut name = None;
        let mut file_name = None;
        let mut kind = None;
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':').ok_or("a header without a colon")?;
            match key.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for param in value.split(';').map(str::trim) {
                        if let Some(v) = param.strip_prefix("name=") {
                            name = Some(v.trim_matches('"').to_string());
                        }
                        if let Some(v) = param.strip_prefix("filename=") {
                            file_name = Some(v.trim_matches('"').to_string());
                        }
                    }
                }
                "content-type" => kind = Some(value.trim().to_string()),
                _ => {}
            }
        }
        parts.push(Part {
            name: name.ok_or("a part without a name")?,
            file_name,
            content_type: kind,
            bytes: content,
        });
        at = next + delimiter.len();
    }
}

async fn upload_media(
    st: web::Data<Arc<Mutex<Graph>>>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let mut g = st.lock().expect("lock");
    if let Some(no) = refused(&req, path.into_inner()) {
        return no;
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let checked = if content_type.starts_with("multipart/form-data") {
        form_parts(content_type, &body).and_then(|parts| {
            let field = |n: &str| parts.iter().find(|p| p.name == n);
            match field("messaging_product") {
                Some(p) if p.bytes == b"whatsapp" => {}
                _ => return Err("messaging_product must be whatsapp".to_string()),
            }
            let file = field("file").ok_or("file is required")?;
            if file.bytes.is_empty() {
                return Err("file is empty".into());
            }
            let declared = field("type").map(|t| String::from_utf8_lossy(&t.bytes).to_string());
            Ok(Media {
                id: String::new(),
                file_name: file.file_name.clone().unwrap_or_default(),
                content_type: file.content_type.clone().or(declared).unwrap_or_default(),
                bytes: file.bytes.clone(),
            })
        })
    } else {
        Err("Content-Type must be multipart/form-data".to_string())
    };
    match checked {
        Ok(mut m) => {
            m.id = format!("{}", 4_490_709_327_384_033u64 + g.media.len() as u64);
            let id = m.id.clone();
            g.media.push(m);
            HttpResponse::Ok().json(json!({"id": id}))
        }
        Err(why) => {
            g.refused.push(why.clone());
            error(400, &format!("(#100) Invalid parameter: {why}"), 100)
        }
    }
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
                // Meta takes documents up to 100 MB; a signed PDF is far below this.
                .app_data(web::PayloadConfig::new(16 << 20))
                .route("/{version}/{phone}/messages", web::post().to(send_message))
                .route("/{version}/{phone}/media", web::post().to(upload_media))
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

    /// The files uploaded, in order.
    pub fn media(&self) -> Vec<Media> {
        self.state.lock().expect("lock").media.clone()
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
    fn a_multipart_body_is_read_part_by_part() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--x\r\n--xyz--\r\n";
        let parts = form_parts("multipart/form-data; boundary=xyz", body).expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "messaging_product");
        assert_eq!(parts[0].bytes, b"whatsapp");
        assert_eq!(parts[1].file_name.as_deref(), Some("a.pdf"));
        assert_eq!(parts[1].content_type.as_deref(), Some("application/pdf"));
        // A line that merely starts like the delimiter stays in the file.
        assert_eq!(parts[1].bytes, b"%PDF-1.7\r\n--x");
        assert!(form_parts("multipart/form-data", body).is_err());
    }

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
