//! A PSP's API Pix for the tests: the part atende uses, written from the Central Bank's
//! OpenAPI description (bacen/pix-api v2.9.0): the OAuth2 client-credentials token
//! (`securitySchemes.OAuth2`), `PUT`/`GET /cob/{txid}` (`CobSolicitada` in, `CobGerada` /
//! `CobCompleta` out), `PUT /pix/{e2eid}/devolucao/{id}` (`DevolucaoSolicitada` in,
//! `Devolucao` out), RFC 7807 problems (`Problema`) for refusals, and the webhook callback
//! (`POST {webhookUrl}/pix` with `WebhookPixBody`).
//!
//! What a bank would do outside the API — a payer paying, a refund being settled, the
//! callback being sent — the tests drive through [`Psp::pay`], [`Psp::settle_refund`] and
//! [`Psp::notify`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "atende-clinica";
pub const CLIENT_SECRET: &str = "segredo-do-cliente";
/// The receiving key the PSP holds for the clinic.
pub const KEY: &str = "7d9f0335-8dcc-4054-9bf9-0dbd61d36906";

#[derive(Default)]
struct Ledger {
    tokens: Vec<String>,
    cobs: HashMap<String, Value>,
    /// endToEndId → txid.
    pix_of: HashMap<String, String>,
    token_requests: usize,
    next_loc: u64,
}

#[derive(Clone)]
pub struct Psp {
    state: Arc<Mutex<Ledger>>,
    pub base: String,
}

fn problem(status: u16, kind: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status"))
        .content_type("application/problem+json")
        .json(json!({
            "type": format!("https://pix.bcb.gov.br/api/v2/error/{kind}"),
            "title": kind, "status": status, "detail": detail,
        }))
}

fn authorized(req: &HttpRequest, l: &Ledger) -> bool {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| l.tokens.iter().any(|k| k == t))
}

/// `\d{1,10}\.\d{2}`
fn valid_amount(s: &str) -> bool {
    s.split_once('.').is_some_and(|(u, c)| {
        (1..=10).contains(&u.len())
            && c.len() == 2
            && u.bytes().chain(c.bytes()).all(|b| b.is_ascii_digit())
    })
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The PSP's own dynamic BR Code for a location (its own encoder, not atende's).
fn copia_e_cola(location: &str) -> String {
    let f = |id: &str, v: &str| format!("{id}{:02}{v}", v.len());
    let gui = f("00", "br.gov.bcb.pix") + &f("25", location);
    let mut s = f("00", "01")
        + &f("01", "12")
        + &f("26", &gui)
        + &f("52", "0000")
        + &f("53", "986")
        + &f("58", "BR")
        + &f("59", "PSP TESTE")
        + &f("60", "SAO PAULO")
        + &f("62", &f("05", "***"))
        + "6304";
    s += &format!("{:04X}", crc16(s.as_bytes()));
    s
}

async fn token(
    st: web::Data<Arc<Mutex<Ledger>>>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    use base64::Engine as _;
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if basic != Some(want.as_str()) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}));
    }
    let t = uuid::Uuid::new_v4().simple().to_string();
    let mut l = st.lock().expect("lock");
    l.tokens.push(t.clone());
    l.token_requests += 1;
    HttpResponse::Ok().json(json!({
        "access_token": t, "token_type": "Bearer", "expires_in": 3600,
        "scope": "cob.write cob.read pix.write pix.read",
    }))
}

async fn put_cob(
    st: web::Data<Arc<Mutex<Ledger>>>,
    req: HttpRequest,
    txid: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut l = st.lock().expect("lock");
    if !authorized(&req, &l) {
        return problem(403, "AcessoNegado", "token ausente ou inválido");
    }
    let txid = txid.into_inner();
    if !(26..=35).contains(&txid.len()) || !txid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return problem(
            400,
            "RequisicaoInvalida",
            "txid fora do padrão [a-zA-Z0-9]{26,35}",
        );
    }
    if l.cobs.contains_key(&txid) {
        return problem(400, "CobOperacaoInvalida", "txid já utilizado");
    }
    let original = body["valor"]["original"].as_str().unwrap_or_default();
    let chave = body["chave"].as_str().unwrap_or_default();
    let expiracao = body["calendario"]["expiracao"].as_u64();
    if !valid_amount(original) || chave.is_empty() || expiracao.is_none() {
        return problem(
            400,
            "CobPayloadInvalido",
            "valor.original, chave e calendario.expiracao",
        );
    }
    if chave != KEY {
        return problem(
            400,
            "CobPayloadInvalido",
            "a chave não pertence ao usuário recebedor",
        );
    }
    l.next_loc += 1;
    let location = format!("pix.example.com/qr/v2/{}", uuid::Uuid::new_v4().simple());
    let cob = json!({
        "calendario": {"criacao": chrono::Utc::now(), "expiracao": expiracao},
        "txid": txid, "revisao": 0,
        "loc": {"id": l.next_loc, "location": location, "tipoCob": "cob"},
        "location": location, "status": "ATIVA",
        "valor": {"original": original, "modalidadeAlteracao": 0},
        "chave": chave,
        "solicitacaoPagador": body["solicitacaoPagador"],
        "pixCopiaECola": copia_e_cola(&location),
        "pix": [],
    });
    l.cobs.insert(txid, cob.clone());
    let mut answer = cob;
    answer.as_object_mut().expect("object").remove("pix");
    HttpResponse::Created().json(answer)
}

async fn get_cob(
    st: web::Data<Arc<Mutex<Ledger>>>,
    req: HttpRequest,
    txid: web::Path<String>,
) -> HttpResponse {
    let l = st.lock().expect("lock");
    if !authorized(&req, &l) {
        return problem(403, "AcessoNegado", "token ausente ou inválido");
    }
    match l.cobs.get(txid.as_str()) {
        Some(c) => HttpResponse::Ok().json(c),
        None => problem(404, "NaoEncontrado", "cobrança não encontrada"),
    }
}

async fn put_devolucao(
    st: web::Data<Arc<Mutex<Ledger>>>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Json<Value>,
) -> HttpResponse {
    let mut l = st.lock().expect("lock");
    if !authorized(&req, &l) {
        return problem(403, "AcessoNegado", "token ausente ou inválido");
    }
    let (e2e, id) = path.into_inner();
    let valor = body["valor"].as_str().unwrap_or_default().to_string();
    if !valid_amount(&valor) {
        return problem(400, "RequisicaoInvalida", "valor");
    }
    let Some(txid) = l.pix_of.get(&e2e).cloned() else {
        return problem(404, "NaoEncontrado", "Pix não encontrado");
    };
    let cents = |s: &str| -> i64 {
        let (u, c) = s.split_once('.').expect("amount");
        u.parse::<i64>().expect("units") * 100 + c.parse::<i64>().expect("cents")
    };
    let cob = l.cobs.get_mut(&txid).expect("cob");
    let pix = cob["pix"]
        .as_array_mut()
        .expect("pix")
        .iter_mut()
        .find(|p| p["endToEndId"] == e2e.as_str())
        .expect("pix");
    let already: i64 = pix["devolucoes"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|r| cents(r["valor"].as_str().unwrap_or("0.00")))
                .sum()
        })
        .unwrap_or(0);
    if already + cents(&valor) > cents(pix["valor"].as_str().expect("valor")) {
        return problem(
            400,
            "DevolucaoInvalida",
            "valor maior que o disponível para devolução",
        );
    }
    let devolucao = json!({
        "id": id, "rtrId": format!("D{}", &uuid::Uuid::new_v4().simple().to_string()[..31]),
        "valor": valor, "horario": {"solicitacao": chrono::Utc::now()},
        "status": "EM_PROCESSAMENTO",
    });
    pix["devolucoes"]
        .as_array_mut()
        .expect("devolucoes")
        .push(devolucao.clone());
    HttpResponse::Created().json(devolucao)
}

impl Psp {
    pub async fn start() -> Psp {
        let state = Arc::new(Mutex::new(Ledger::default()));
        let data = web::Data::new(state.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .route("/oauth/token", web::post().to(token))
                .route("/v2/cob/{txid}", web::put().to(put_cob))
                .route("/v2/cob/{txid}", web::get().to(get_cob))
                .route(
                    "/v2/pix/{e2eid}/devolucao/{id}",
                    web::put().to(put_devolucao),
                )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let port = server.addrs()[0].port();
        actix_web::rt::spawn(server.run());
        Psp {
            state,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A payer pays the charge in full: a Pix with a fresh endToEndId (32 characters).
    pub fn pay(&self, txid: &str) -> String {
        let mut l = self.state.lock().expect("lock");
        let e2e = format!(
            "E1234567820261206{}",
            &uuid::Uuid::new_v4().simple().to_string()[..15]
        );
        let cob = l.cobs.get_mut(txid).expect("charge exists at the PSP");
        let valor = cob["valor"]["original"].clone();
        cob["status"] = json!("CONCLUIDA");
        cob["pix"].as_array_mut().expect("pix").push(json!({
            "endToEndId": e2e, "txid": txid, "valor": valor,
            "horario": chrono::Utc::now(), "devolucoes": [],
        }));
        l.pix_of.insert(e2e.clone(), txid.to_string());
        e2e
    }

    /// The refund reaches the payer (`DEVOLVIDO`).
    pub fn settle_refund(&self, refund_id: &str) {
        let mut l = self.state.lock().expect("lock");
        for cob in l.cobs.values_mut() {
            for p in cob["pix"].as_array_mut().expect("pix") {
                for r in p["devolucoes"].as_array_mut().expect("devolucoes") {
                    if r["id"] == refund_id {
                        r["status"] = json!("DEVOLVIDO");
                        r["horario"]["liquidacao"] = json!(chrono::Utc::now());
                    }
                }
            }
        }
    }

    /// The callback body for the charge's Pix, as the PSP sends it (`WebhookPixBody`).
    pub fn notification(&self, txid: &str) -> Value {
        let l = self.state.lock().expect("lock");
        let pix = l.cobs.get(txid).expect("charge")["pix"].clone();
        json!({"pix": pix})
    }

    /// The PSP calls the webhook registered as `webhook_url`: `POST {webhookUrl}/pix`.
    pub async fn notify(&self, webhook_url: &str, body: &Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{webhook_url}/pix"))
            .json(body)
            .send()
            .await
            .expect("webhook call")
    }

    pub fn token_requests(&self) -> usize {
        self.state.lock().expect("lock").token_requests
    }
}
