//! A PSP over the Central Bank's API Pix (bacen/pix-api, v2): OAuth2 client credentials
//! (`securitySchemes.OAuth2.flows.clientCredentials`), mutual TLS with the client
//! certificate PSPs require, and the three calls atende needs: `PUT /cob/{txid}`,
//! `GET /cob/{txid}`, `PUT /pix/{e2eid}/devolucao/{id}`. Amounts travel as the API's
//! decimal strings (`"37.00"`) and are centavos everywhere else.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{
    ChargeRequest, ChargeState, CreatedCharge, PixPsp, PspError, ReceivedPix, RefundState,
};
use crate::config::PixSettings;
use crate::domain::billing::{decimal, parse_decimal};

/// Renew a token this long before the PSP says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

pub struct PixApi {
    http: reqwest::Client,
    api_url: String,
    token_url: String,
    client_id: String,
    client_secret: String,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct CobAnswer {
    txid: String,
    status: String,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    loc: Option<LocAnswer>,
    #[serde(default, rename = "pixCopiaECola")]
    pix_copia_e_cola: Option<String>,
    #[serde(default)]
    pix: Vec<PixAnswer>,
}

#[derive(Deserialize)]
struct LocAnswer {
    #[serde(default)]
    location: Option<String>,
}

#[derive(Deserialize)]
struct PixAnswer {
    #[serde(rename = "endToEndId")]
    end_to_end_id: String,
    #[serde(default)]
    txid: Option<String>,
    valor: String,
    horario: DateTime<Utc>,
    #[serde(default)]
    devolucoes: Vec<RefundAnswer>,
}

#[derive(Deserialize)]
struct RefundAnswer {
    id: String,
    #[serde(default, rename = "rtrId")]
    rtr_id: Option<String>,
    valor: String,
    status: String,
}

#[derive(Deserialize, Default)]
struct Problem {
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
}

impl PixApi {
    /// The client for `settings` (`pix.api_url` set): the client certificate and extra CA
    /// are read now, so a bad file fails at start-up with the key's name.
    pub fn new(settings: &PixSettings) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .redirect(reqwest::redirect::Policy::none());
        if !settings.client_identity_path.is_empty() {
            let pem = std::fs::read(&settings.client_identity_path).map_err(|e| {
                anyhow::anyhow!(
                    "pix.client_identity_path {}: {e}",
                    settings.client_identity_path
                )
            })?;
            let identity = reqwest::Identity::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("pix.client_identity_path: {e}"))?;
            builder = builder.identity(identity);
        }
        if !settings.ca_path.is_empty() {
            let pem = std::fs::read(&settings.ca_path)
                .map_err(|e| anyhow::anyhow!("pix.ca_path {}: {e}", settings.ca_path))?;
            let ca = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("pix.ca_path: {e}"))?;
            builder = builder.add_root_certificate(ca);
        }
        Ok(Self {
            http: builder.build()?,
            api_url: settings.api_url.trim_end_matches('/').to_string(),
            token_url: settings.token_url.clone(),
            client_id: settings.client_id.clone(),
            client_secret: settings.client_secret.expose().clone(),
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn token(&self) -> Result<String, PspError> {
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let resp = self
            .http
            .post(&self.token_url)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(unavailable)?;
        let resp = check(resp).await?;
        let answer: TokenAnswer = resp
            .json()
            .await
            .map_err(|e| PspError::Protocol(format!("token: {e}")))?;
        let ttl = Duration::from_secs(answer.expires_in.unwrap_or(300));
        let until = Instant::now() + ttl.saturating_sub(TOKEN_MARGIN);
        *cached = Some((answer.access_token.clone(), until));
        Ok(answer.access_token)
    }

    /// Forget the token (the PSP answered 401: it was revoked or expired early).
    async fn drop_token(&self) {
        *self.token.lock().await = None;
    }

    /// Send `req` with a bearer token, once more with a fresh token after a 401.
    async fn send(
        &self,
        req: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, PspError> {
        for attempt in 0..2 {
            let token = self.token().await?;
            let resp = req(&self.http)
                .bearer_auth(token)
                .send()
                .await
                .map_err(unavailable)?;
            if resp.status() == reqwest::StatusCode::UNAUTHORIZED && attempt == 0 {
                self.drop_token().await;
                continue;
            }
            return check(resp).await;
        }
        Err(PspError::Protocol("token refused twice".into()))
    }
}

fn unavailable(e: reqwest::Error) -> PspError {
    PspError::Unavailable(e.to_string())
}

/// Turn an error status into a [`PspError`], reading the RFC 7807 problem the API returns.
async fn check(resp: reqwest::Response) -> Result<reqwest::Response, PspError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(PspError::NotFound);
    }
    if status.is_server_error() {
        return Err(PspError::Unavailable(format!("HTTP {status}")));
    }
    let problem: Problem = resp.json().await.unwrap_or_default();
    Err(PspError::Refused {
        status: status.as_u16(),
        detail: format!("{} {}", problem.title, problem.detail)
            .trim()
            .to_string(),
    })
}

fn amount(s: &str) -> Result<i64, PspError> {
    parse_decimal(s).map_err(|e| PspError::Protocol(e.message))
}

fn refund_state(r: RefundAnswer) -> Result<RefundState, PspError> {
    Ok(RefundState {
        amount_cents: amount(&r.valor)?,
        id: r.id,
        rtr_id: r.rtr_id,
        status: r.status,
    })
}

#[async_trait::async_trait]
impl PixPsp for PixApi {
    async fn create_charge(&self, req: &ChargeRequest) -> Result<CreatedCharge, PspError> {
        let url = format!("{}/cob/{}", self.api_url, req.txid);
        let body = json!({
            "calendario": {"expiracao": req.expires_in_secs},
            "valor": {"original": decimal(req.amount_cents)},
            "chave": req.key,
            "solicitacaoPagador": req.payer_message.chars().take(140).collect::<String>(),
        });
        let resp = self.send(|c| c.put(&url).json(&body)).await?;
        let cob: CobAnswer = resp
            .json()
            .await
            .map_err(|e| PspError::Protocol(format!("cob: {e}")))?;
        Ok(CreatedCharge {
            location: cob.location.or(cob.loc.and_then(|l| l.location)),
            pix_copia_e_cola: cob.pix_copia_e_cola,
        })
    }

    async fn charge(&self, txid: &str) -> Result<ChargeState, PspError> {
        let url = format!("{}/cob/{txid}", self.api_url);
        let resp = self.send(|c| c.get(&url)).await?;
        let cob: CobAnswer = resp
            .json()
            .await
            .map_err(|e| PspError::Protocol(format!("cob: {e}")))?;
        let mut pix = Vec::with_capacity(cob.pix.len());
        for p in cob.pix {
            pix.push(ReceivedPix {
                amount_cents: amount(&p.valor)?,
                refunds: p
                    .devolucoes
                    .into_iter()
                    .map(refund_state)
                    .collect::<Result<_, _>>()?,
                end_to_end_id: p.end_to_end_id,
                txid: p.txid,
                at: p.horario,
            });
        }
        Ok(ChargeState {
            txid: cob.txid,
            status: cob.status,
            pix,
        })
    }

    async fn refund(
        &self,
        end_to_end_id: &str,
        refund_id: &str,
        amount_cents: i64,
        reason: &str,
    ) -> Result<RefundState, PspError> {
        let url = format!("{}/pix/{end_to_end_id}/devolucao/{refund_id}", self.api_url);
        let mut body = json!({"valor": decimal(amount_cents)});
        if !reason.is_empty() {
            body["descricao"] = json!(reason.chars().take(140).collect::<String>());
        }
        let resp = self.send(|c| c.put(&url).json(&body)).await?;
        let r: RefundAnswer = resp
            .json()
            .await
            .map_err(|e| PspError::Protocol(format!("devolucao: {e}")))?;
        refund_state(r)
    }
}
