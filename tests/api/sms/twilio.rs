//! Twilio's Programmable Messaging API for the tests: the part atende uses, written from
//! Twilio's published OpenAPI description (twilio/twilio-oai, `spec/json/twilio_api_v2010.json`):
//!
//! - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (operation `CreateMessage`):
//!   `AccountSid` matches `^AC[0-9a-fA-F]{32}$`; security `accountSid_authToken` is HTTP
//!   Basic (account SID, auth token); the body is `application/x-www-form-urlencoded` with
//!   `To` required (format `phone-number`: E.164 here), a sender — `From` (a phone number)
//!   or `MessagingServiceSid` (`^MG[0-9a-fA-F]{32}$`) —, content — `Body` (at most 1,600
//!   characters), `MediaUrl` or `ContentSid` —, and `StatusCallback` a URI ("must contain a
//!   valid hostname and underscores are not allowed"). Parameters the description does not
//!   list are refused. The answer is `201` with an `api.v2010.account.message`.
//! - Errors: the description lists none; Twilio answers its REST errors with `code`,
//!   `message`, `more_info` and `status` (its error reference: 20003 authenticate, 20404
//!   not found, 21211 invalid `To`, 21602 body required, 21603 sender required, 21617 body
//!   too long, 20429 too many requests).
//! - Status callbacks (`MessageSid`, `SmsSid`, `AccountSid`, `From`, `To`, `MessageStatus`,
//!   `SmsStatus`, `ApiVersion`, and `ErrorCode` when undelivered or failed) and incoming
//!   messages (`MessageSid`, `AccountSid`, `From`, `To`, `Body`, `NumMedia`…) are form posts
//!   signed `X-Twilio-Signature` = base64(HMAC-SHA1(auth token, URL + sorted name+value)).
//!
//! The tests tell it to fail ([`Twilio::fail_next`]) and drive what the network and a phone
//! would do through [`Twilio::callback`] and [`Twilio::inbound`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha1::Sha1;

pub const ACCOUNT_SID: &str = "AC8f3c1d2e4b5a69788796a5b4c3d2e1f0";
pub const AUTH_TOKEN: &str = "f2a9c7e1d4b3a6c5e8d7f0a1b2c3d4e5";
pub const FROM: &str = "+5511300000000";

/// The parameters of `CreateMessage` in the description.
const KNOWN: &[&str] = &[
    "To",
    "StatusCallback",
    "ApplicationSid",
    "MaxPrice",
    "ProvideFeedback",
    "Attempt",
    "ValidityPeriod",
    "ForceDelivery",
    "ContentRetention",
    "AddressRetention",
    "SmartEncoded",
    "PersistentAction",
    "TrafficType",
    "ShortenUrls",
    "ScheduleType",
    "SendAt",
    "SendAsMms",
    "ContentVariables",
    "RiskCheck",
    "From",
    "FallbackFrom",
    "MessagingServiceSid",
    "Body",
    "MediaUrl",
    "ContentSid",
];

/// A message the server took.
#[derive(Debug, Clone)]
pub struct Received {
    pub sid: String,
    pub form: Vec<(String, String)>,
}

impl Received {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Api {
    received: Vec<Received>,
    refused: Vec<String>,
    fail: VecDeque<u16>,
    requests: usize,
}

#[derive(Clone)]
pub struct Twilio {
    state: Arc<Mutex<Api>>,
    pub base: String,
}

fn error(status: u16, code: u32, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).json(
        json!({"code": code, "message": message,
               "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
               "status": status}),
    )
}

fn sid_like(s: &str, prefix: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn e164(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The form checked against the description (module docs); the error to answer if not.
fn validate(form: &[(String, String)]) -> Result<(), (u32, String)> {
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Some((k, _)) = form.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return Err((21600, format!("Unknown parameter {k}")));
    }
    match get("To") {
        Some(to) if e164(to) => {}
        Some(to) => return Err((21211, format!("Invalid 'To' Phone Number: {to}"))),
        None => return Err((21604, "A 'To' phone number is required.".into())),
    }
    let from = get("From").filter(|f| !f.is_empty());
    let service = get("MessagingServiceSid").filter(|f| !f.is_empty());
    if from.is_none() && service.is_none() {
        return Err((
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send a message.".into(),
        ));
    }
    if let Some(f) = from
        && !e164(f)
    {
        return Err((21212, format!("Invalid 'From' Phone Number: {f}")));
    }
    if let Some(s) = service
        && !sid_like(s, "MG")
    {
        return Err((21701, format!("The Messaging Service Sid {s} is invalid.")));
    }
    let body = get("Body").unwrap_or_default();
    if body.is_empty() && get("MediaUrl").is_none() && get("ContentSid").is_none() {
        return Err((21602, "Message body is required.".into()));
    }
    if body.chars().count() > 1600 {
        return Err((
            21617,
            "The concatenated message body exceeds the 1600 character limit.".into(),
        ));
    }
    if let Some(cb) = get("StatusCallback") {
        let host = cb
            .strip_prefix("http://")
            .or_else(|| cb.strip_prefix("https://"))
            .and_then(|rest| rest.split(['/', '?']).next())
            .filter(|h| !h.is_empty() && !h.contains('_'));
        if host.is_none() {
            return Err((21609, format!("Invalid StatusCallback url: {cb}")));
        }
    }
    Ok(())
}

async fn create_message(
    st: web::Data<Arc<Mutex<Api>>>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let mut api = st.lock().expect("lock");
    api.requests += 1;
    let account = path.into_inner();
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if basic.as_deref() != Some(&format!("{ACCOUNT_SID}:{AUTH_TOKEN}")) {
        return error(401, 20003, "Authenticate");
    }
    if !sid_like(&account, "AC") || account != ACCOUNT_SID {
        return error(404, 20404, "The requested resource was not found");
    }
    let form_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if let Some(status) = api.fail.pop_front() {
        let code = if status == 429 { 20429 } else { 20500 };
        return error(status, code, "An internal server error has occurred");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let checked = if form_type {
        validate(&form)
    } else {
        Err((
            21600,
            "Content-Type must be application/x-www-form-urlencoded".into(),
        ))
    };
    if let Err((code, why)) = checked {
        api.refused.push(why.clone());
        return error(400, code, &why);
    }
    let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
    let r = Received {
        sid: sid.clone(),
        form,
    };
    let date = chrono::Utc::now().to_rfc2822();
    let answer = json!({
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01",
        "body": r.get("Body"), "date_created": date, "date_sent": null, "date_updated": date,
        "direction": "outbound-api", "error_code": null, "error_message": null,
        "from": r.get("From"), "messaging_service_sid": r.get("MessagingServiceSid"),
        "num_media": "0", "num_segments": "1", "price": null, "price_unit": "USD",
        "sid": sid, "status": "queued", "to": r.get("To"),
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json")},
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    api.received.push(r);
    HttpResponse::Created().json(answer)
}

/// `X-Twilio-Signature` for a post of `params` to `url`, as Twilio computes it.
pub fn sign(url: &str, params: &[(String, String)], token: &str) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(&k);
        data.push_str(&v);
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("key");
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Twilio {
    pub async fn start() -> Twilio {
        let state = Arc::new(Mutex::new(Api::default()));
        let data = web::Data::new(state.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new().app_data(data.clone()).route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                web::post().to(create_message),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Twilio {
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

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("lock").received.clone()
    }

    pub fn refused(&self) -> Vec<String> {
        self.state.lock().expect("lock").refused.clone()
    }

    /// Every request to the Messages endpoint, taken or not.
    pub fn requests(&self) -> usize {
        self.state.lock().expect("lock").requests
    }

    /// Post `params` to `url`, signed with `signature` (or unsigned).
    pub async fn post(
        url: &str,
        params: &[(String, String)],
        signature: Option<String>,
    ) -> reqwest::Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let mut req = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-twilio-signature", s);
        }
        req.send().await.expect("webhook call")
    }

    /// The network reports `status` (with `error_code` when undelivered or failed) for a
    /// message taken: a signed post to the message's `StatusCallback`.
    pub async fn callback(
        r: &Received,
        status: &str,
        error_code: Option<&str>,
    ) -> reqwest::Response {
        let url = r.get("StatusCallback").expect("a StatusCallback");
        let params =
            Self::status_params(&r.sid, r.get("To").unwrap_or_default(), status, error_code);
        let sig = sign(url, &params, AUTH_TOKEN);
        Self::post(url, &params, Some(sig)).await
    }

    /// A status callback's parameters.
    pub fn status_params(
        sid: &str,
        to: &str,
        status: &str,
        error_code: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut p = pairs(&[
            ("MessageSid", sid),
            ("SmsSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", FROM),
            ("To", to),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("ApiVersion", "2010-04-01"),
        ]);
        if let Some(code) = error_code {
            p.push(("ErrorCode".into(), code.into()));
        }
        p
    }

    /// An incoming message's parameters.
    pub fn inbound_params(from: &str, body: &str) -> Vec<(String, String)> {
        let sid = format!("SM{}", uuid::Uuid::new_v4().simple());
        pairs(&[
            ("ToCountry", "BR"),
            ("SmsMessageSid", &sid),
            ("NumMedia", "0"),
            ("SmsSid", &sid),
            ("SmsStatus", "received"),
            ("Body", body),
            ("To", FROM),
            ("NumSegments", "1"),
            ("MessageSid", &sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", from),
            ("ApiVersion", "2010-04-01"),
        ])
    }

    /// A patient's phone sends `body` to the clinic's number: a signed post to atende.
    pub async fn inbound(app_url: &str, from: &str, body: &str) -> reqwest::Response {
        let url = format!("{app_url}/api/webhooks/sms/inbound");
        let params = Self::inbound_params(from, body);
        let sig = sign(&url, &params, AUTH_TOKEN);
        Self::post(&url, &params, Some(sig)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_check_refuses_what_the_description_requires() {
        let good = pairs(&[
            ("To", "+5511987654321"),
            ("From", FROM),
            ("Body", "Olá"),
            (
                "StatusCallback",
                "http://127.0.0.1:1/api/webhooks/sms/status?outbox=1",
            ),
        ]);
        assert_eq!(validate(&good), Ok(()));
        let without = |name: &str| -> Vec<(String, String)> {
            good.iter().filter(|(k, _)| k != name).cloned().collect()
        };
        assert_eq!(validate(&without("To")).map_err(|e| e.0), Err(21604));
        assert_eq!(validate(&without("From")).map_err(|e| e.0), Err(21603));
        assert_eq!(validate(&without("Body")).map_err(|e| e.0), Err(21602));
        let mut bad = good.clone();
        bad[0].1 = "11987654321".into();
        assert_eq!(validate(&bad).map_err(|e| e.0), Err(21211));
        let mut bad = good.clone();
        bad[3].1 = "http://my_host/x".into();
        assert_eq!(validate(&bad).map_err(|e| e.0), Err(21609));
        let mut bad = good.clone();
        bad.push(("Idempotency".into(), "x".into()));
        assert_eq!(validate(&bad).map_err(|e| e.0), Err(21600));
        let mut bad = good.clone();
        bad[2].1 = "a".repeat(1601);
        assert_eq!(validate(&bad).map_err(|e| e.0), Err(21617));
    }
}
