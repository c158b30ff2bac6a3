//! Payment engines: the PSP a clinic receives Pix through, behind [`PixPsp`], and its
//! implementation over the Central Bank's API Pix ([`pix_api::PixApi`]).
//!
//! Use cases talk to the trait only; what the PSP reports (a charge's Pix, their refunds)
//! is the truth atende reconciles against, never what a browser sends.

pub mod pix_api;

use chrono::{DateTime, Utc};

/// Create an immediate charge (`PUT /cob/{txid}`).
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// 26–35 letters and digits, chosen by atende.
    pub txid: String,
    /// The receiver's DICT key.
    pub key: String,
    pub amount_cents: i64,
    pub expires_in_secs: u32,
    /// Shown to the payer (`solicitacaoPagador`, up to 140 characters).
    pub payer_message: String,
}

/// The PSP's answer to a new charge.
#[derive(Debug, Clone)]
pub struct CreatedCharge {
    /// The payload location the dynamic BR Code points at (no scheme).
    pub location: Option<String>,
    /// The BR Code the PSP generated, if it returns one.
    pub pix_copia_e_cola: Option<String>,
}

/// A charge as the PSP reports it (`GET /cob/{txid}`).
#[derive(Debug, Clone)]
pub struct ChargeState {
    pub txid: String,
    /// `ATIVA`, `CONCLUIDA`, `REMOVIDA_PELO_USUARIO_RECEBEDOR`, `REMOVIDA_PELO_PSP`.
    pub status: String,
    pub pix: Vec<ReceivedPix>,
}

/// A Pix received for a charge.
#[derive(Debug, Clone)]
pub struct ReceivedPix {
    pub end_to_end_id: String,
    pub txid: Option<String>,
    pub amount_cents: i64,
    pub at: DateTime<Utc>,
    pub refunds: Vec<RefundState>,
}

/// A refund (devolução) as the PSP reports it.
#[derive(Debug, Clone)]
pub struct RefundState {
    pub id: String,
    pub rtr_id: Option<String>,
    pub amount_cents: i64,
    /// `EM_PROCESSAMENTO`, `DEVOLVIDO` or `NAO_REALIZADO`.
    pub status: String,
}

/// Why a call to the PSP failed.
#[derive(Debug, thiserror::Error)]
pub enum PspError {
    /// Not reachable, timed out, or a 5xx: try again later.
    #[error("PSP unavailable: {0}")]
    Unavailable(String),
    /// The PSP refused the request (4xx), with its RFC 7807 `title`/`detail`.
    #[error("PSP refused ({status}): {detail}")]
    Refused { status: u16, detail: String },
    /// The charge or Pix does not exist at the PSP (404).
    #[error("not found at the PSP")]
    NotFound,
    /// An answer that does not follow the API Pix.
    #[error("unexpected answer from the PSP: {0}")]
    Protocol(String),
}

/// A PSP that receives Pix for the clinic.
#[async_trait::async_trait]
pub trait PixPsp: Send + Sync {
    async fn create_charge(&self, req: &ChargeRequest) -> Result<CreatedCharge, PspError>;
    async fn charge(&self, txid: &str) -> Result<ChargeState, PspError>;
    /// Ask for (part of) a Pix back (`PUT /pix/{e2eid}/devolucao/{id}`).
    async fn refund(
        &self,
        end_to_end_id: &str,
        refund_id: &str,
        amount_cents: i64,
        reason: &str,
    ) -> Result<RefundState, PspError>;
}
