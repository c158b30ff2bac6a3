//! One error type for HTTP and WebSocket replies, mapped once to a status and a stable
//! snake_case code. The cause chain of unexpected errors goes to the log, never to the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::actors::protocol::{ErrorKind, WsError};
use crate::domain::ValidationError;
use crate::security::crypto::CryptoError;
use crate::security::password::PasswordError;
use crate::store::StoreError;

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable snake_case code, e.g. `invalid_cpf`, `forbidden`, `slot_taken`.
    pub code: String,
    /// A human-readable message in Portuguese.
    pub message: String,
    /// With `version_conflict`: the version the entity has now (reload it, then save
    /// against this version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// With some validation errors (`implausible_vital`): the input field at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Well-formed input that breaks a domain rule (422).
    #[error("{0}")]
    Validation(#[from] ValidationError),
    /// Input that could not be read at all: bad JSON, wrong types (400).
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The body is not JSON (415).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The body exceeds the configured limit (413).
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("forbidden")]
    Forbidden,
    /// A refusal with its own code (403): the caller is known but this is not theirs to see.
    #[error("{message}")]
    Denied { code: &'static str, message: String },
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A save against a version that is no longer the current one (409 `version_conflict`):
    /// someone else (another tab) saved first.
    #[error("version conflict (current {current_version})")]
    VersionConflict { current_version: i64 },
    #[error("too many attempts")]
    TooManyRequests { retry_after_secs: u64 },
    /// Over a rate with its own code (429).
    #[error("{message}")]
    Limited { code: &'static str, message: String },
    /// Over a quota with its own code, free again in `retry_after_secs` (429, Retry-After).
    #[error("{message}")]
    LimitedFor {
        code: &'static str,
        message: String,
        retry_after_secs: u64,
    },
    #[error("service unavailable")]
    Unavailable,
    /// A resource of this node is exhausted or failing (503, with its own code).
    #[error("{message}")]
    Overloaded { code: &'static str, message: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Denied {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(v) => v.code,
            AppError::BadRequest { code, .. }
            | AppError::Unauthorized { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Denied { code, .. }
            | AppError::Limited { code, .. }
            | AppError::LimitedFor { code, .. }
            | AppError::Overloaded { code, .. } => code,
            AppError::Forbidden => "forbidden",
            AppError::VersionConflict { .. } => "version_conflict",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::PayloadTooLarge => "body_too_large",
            AppError::NotFound => "not_found",
            AppError::TooManyRequests { .. } => "too_many_attempts",
            AppError::Unavailable => "unavailable",
            AppError::Unexpected(_) => "internal_error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AppError::Validation(v) => v.message.clone(),
            AppError::BadRequest { message, .. }
            | AppError::Unauthorized { message, .. }
            | AppError::Conflict { message, .. }
            | AppError::Denied { message, .. }
            | AppError::Limited { message, .. }
            | AppError::LimitedFor { message, .. }
            | AppError::Overloaded { message, .. } => message.clone(),
            AppError::Forbidden => "você não tem permissão para acessar este recurso".into(),
            AppError::VersionConflict { current_version } => format!(
                "este registro foi alterado em outra janela (versão atual {current_version}); recarregue antes de salvar"
            ),
            AppError::UnsupportedMediaType => "envie o corpo como application/json".into(),
            AppError::PayloadTooLarge => "corpo da requisição grande demais".into(),
            AppError::NotFound => "não encontrado".into(),
            AppError::TooManyRequests { retry_after_secs } => {
                format!("muitas tentativas; tente novamente em {retry_after_secs} s")
            }
            AppError::Unavailable => "serviço temporariamente indisponível".into(),
            AppError::Unexpected(_) => "erro interno; tente novamente".into(),
        }
    }

    /// What kind of refusal this is (the edges derive their status from it).
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::Validation(_)
            | AppError::BadRequest { .. }
            | AppError::UnsupportedMediaType
            | AppError::PayloadTooLarge => ErrorKind::Invalid,
            AppError::Unauthorized { .. } => ErrorKind::Unauthorized,
            AppError::Forbidden | AppError::Denied { .. } => ErrorKind::Forbidden,
            AppError::NotFound => ErrorKind::NotFound,
            AppError::Conflict { .. } | AppError::VersionConflict { .. } => ErrorKind::Conflict,
            AppError::TooManyRequests { .. }
            | AppError::Limited { .. }
            | AppError::LimitedFor { .. } => ErrorKind::RateLimited,
            AppError::Unavailable | AppError::Overloaded { .. } => ErrorKind::Unavailable,
            AppError::Unexpected(_) => ErrorKind::Internal,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code().to_string(),
            message: self.message(),
            current_version: match self {
                AppError::VersionConflict { current_version } => Some(*current_version),
                _ => None,
            },
            field: match self {
                AppError::Validation(v) => v.field.map(str::to_string),
                _ => None,
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => match self.kind() {
                ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
                ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
                ErrorKind::Forbidden => StatusCode::FORBIDDEN,
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::Conflict => StatusCode::CONFLICT,
                ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Unexpected(e) = self {
            tracing::error!(error = ?e, "unexpected error");
        }
        let mut resp = HttpResponse::build(self.status_code());
        if let AppError::TooManyRequests { retry_after_secs }
        | AppError::LimitedFor {
            retry_after_secs, ..
        } = self
        {
            resp.insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_secs)));
        }
        if let AppError::Unauthorized { .. } = self {
            resp.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        resp.json(self.body())
    }
}

/// An entity actor's refusal: the same stable code, with the status its kind implies.
impl From<WsError> for AppError {
    fn from(e: WsError) -> Self {
        match e.kind {
            ErrorKind::Invalid => ValidationError::new(e.code, e.message).into(),
            ErrorKind::Unauthorized => AppError::Unauthorized {
                code: e.code,
                message: e.message,
            },
            ErrorKind::Forbidden => AppError::Forbidden,
            ErrorKind::NotFound => AppError::NotFound,
            ErrorKind::Conflict => AppError::Conflict {
                code: e.code,
                message: e.message,
            },
            ErrorKind::RateLimited => match e.retry_after_ms {
                Some(ms) => AppError::LimitedFor {
                    code: e.code,
                    message: e.message,
                    retry_after_secs: ms.div_ceil(1000).max(1),
                },
                None => AppError::Limited {
                    code: e.code,
                    message: e.message,
                },
            },
            ErrorKind::Unavailable if e.code == "unavailable" => AppError::Unavailable,
            ErrorKind::Unavailable => AppError::Overloaded {
                code: e.code,
                message: e.message,
            },
            ErrorKind::Internal => AppError::Unexpected(anyhow::anyhow!("actor: {}", e.message)),
        }
    }
}

/// The same error on the WebSocket: its code and message, and its kind.
impl From<&AppError> for WsError {
    fn from(e: &AppError) -> Self {
        WsError::of(e.kind(), e.code(), e.message())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full(cause) => {
                tracing::error!(error = %cause, "storage full; the change was not made");
                AppError::Overloaded {
                    code: "storage_full",
                    message: "o armazenamento do servidor está cheio; nada foi alterado — avise o suporte".into(),
                }
            }
            other => AppError::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<CryptoError> for AppError {
    fn from(e: CryptoError) -> Self {
        AppError::Unexpected(anyhow::Error::new(e))
    }
}

impl From<PasswordError> for AppError {
    fn from(e: PasswordError) -> Self {
        AppError::Unexpected(anyhow::Error::new(e))
    }
}
