//! Signed documents over HTTP: a professional issues (202, signed in the background), previews,
//! revokes and sends; the patient reads and downloads their own; staff of the clinic list a
//! patient's; pharmacies verify by code (public) or through the ITI validator protocol
//! (`/v/{id}`); anyone can check an uploaded file and download the installation CA.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::app::Auth;
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::documents::signer::JobError;
use crate::documents::{DocError, new_code, normalize_code, pki, summary_json};
use crate::domain::document::DocumentContent;
use crate::domain::{ClinicId, PatientId, Role, ValidationError};
use crate::security::audit::AuditEvent;
use crate::store::StoreError;
use crate::store::documents::{DocumentRow, DocumentView};

/// Largest PDF accepted by the public integrity check, and largest PKCS#12 upload.
const MAX_UPLOAD: usize = 10 * 1024 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/documents", web::post().to(issue))
        .route("/documents/preview", web::post().to(preview))
        .route("/documents/{id}", web::get().to(get_document))
        .route("/documents/{id}/pdf", web::get().to(download))
        .route("/documents/{id}/revoke", web::post().to(revoke))
        .route("/documents/{id}/send", web::post().to(send))
        .route(
            "/clinics/{clinic_id}/patients/{patient_id}/documents",
            web::get().to(list_for_patient),
        )
        .route("/me/documents", web::get().to(mine))
        .service(
            web::resource("/me/signing-key")
                // A PKCS#12 file with a long chain, base64, is larger than other JSON bodies.
                .app_data(
                    web::JsonConfig::default()
                        .limit(1024 * 1024)
                        .error_handler(super::json_error),
                )
                .route(web::get().to(get_signing_key))
                .route(web::put().to(import_signing_key))
                .route(web::delete().to(reset_signing_key)),
        )
        .route("/public/signing-ca.pem", web::get().to(ca_pem))
        .service(
            web::resource("/public/documents/check")
                .app_data(web::PayloadConfig::new(MAX_UPLOAD))
                .route(web::post().to(check_file)),
        )
        .route("/public/documents/{code}", web::get().to(public_view))
        .route("/public/documents/{code}/pdf", web::get().to(public_pdf));
}

impl From<DocError> for AppError {
    fn from(e: DocError) -> Self {
        match e {
            DocError::Store(s) => s.into(),
            DocError::PoolGone => AppError::Unavailable,
            DocError::Job(JobError::Pki(p)) => {
                let code = match p {
                    pki::PkiError::BadPkcs12 => "invalid_pkcs12",
                    pki::PkiError::NoKey => "pkcs12_without_key",
                    pki::PkiError::NotRsa => "unsupported_key",
                    pki::PkiError::KeyMismatch => "certificate_key_mismatch",
                    pki::PkiError::Expired => "certificate_expired",
                    pki::PkiError::KeyUsage => "certificate_cannot_sign",
                    pki::PkiError::Internal(_) => "invalid_certificate",
                };
                AppError::Validation(ValidationError::new(code, pkcs12_message(code)))
            }
            other => AppError::Unexpected(anyhow::anyhow!(other.to_string())),
        }
    }
}

fn pkcs12_message(code: &str) -> &'static str {
    match code {
        "invalid_pkcs12" => "senha incorreta ou arquivo que não é PKCS#12 (.pfx/.p12)",
        "pkcs12_without_key" => "o arquivo não contém chave privada com certificado",
        "unsupported_key" => "somente chaves RSA são aceitas",
        "certificate_key_mismatch" => "o certificado não corresponde à chave privada",
        "certificate_expired" => "o certificado está vencido ou ainda não é válido",
        "certificate_cannot_sign" => "o certificado não permite assinatura digital",
        _ => "certificado inválido",
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub clinic_id: ClinicId,
    pub patient_id: PatientId,
    /// `{"kind": "prescription" | "special_prescription" | "certificate" | "exam_request", …}`
    pub content: DocumentContent,
}

/// The caller as the professional issuing in `clinic`, with their registration.
async fn issuer(
    state: &AppState,
    auth: &Auth,
    clinic: ClinicId,
) -> Result<crate::store::users::ProfessionalRow, AppError> {
    auth.require_role(clinic, &[Role::Professional])?;
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or_else(|| {
            ValidationError::new(
                "not_a_professional",
                "somente profissionais emitem documentos",
            )
            .into()
        })
}

/// Validate the request: caller may issue here, the patient is the clinic's, content valid.
async fn checked(
    state: &AppState,
    auth: &Auth,
    body: IssueRequest,
) -> Result<
    (
        IssueRequest,
        crate::store::users::ProfessionalRow,
        crate::store::clinics::ClinicRow,
        crate::store::patients::PatientRow,
    ),
    AppError,
> {
    let mut body = body;
    let professional = issuer(state, auth, body.clinic_id).await?;
    let clinic = state
        .store
        .clinic_by_id(body.clinic_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let patient = state
        .store
        .clinic_patient(body.clinic_id, body.patient_id)
        .await?
        .ok_or_else(|| {
            AppError::from(ValidationError::new(
                "patient_not_registered",
                "paciente não cadastrado nesta clínica",
            ))
        })?
        .patient;
    let today = Utc::now().with_timezone(&clinic.tz()).date_naive();
    body.content.validate(today)?;
    Ok((body, professional, clinic, patient))
}

#[utoipa::path(post, path = "/api/documents", tag = "documents", security(("bearer" = [])),
    request_body = IssueRequest,
    responses((status = 202, description = "Stored as `pending` and queued for signing; `document.updated` on `user:<id>` when signed or failed", body = Object),
              (status = 400, description = "`invalid_body` (unknown field, wrong type)", body = ErrorBody),
              (status = 422, description = "`patient_not_registered`, `not_a_professional`, `no_medications`, `no_exams`, `missing_field`, `invalid_days`, `invalid_start_date`, `invalid_cid`, `cid_consent_required`, `unsupported_character`, `field_too_long`, `too_many_items`", body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn issue(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, AppError> {
    let (body, professional, _clinic, _patient) = checked(&state, &auth, body.into_inner()).await?;
    let content = serde_json::to_string(&body.content).map_err(anyhow::Error::new)?;
    let mut row = DocumentRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: body.clinic_id,
        professional_id: professional.id,
        patient_id: body.patient_id,
        kind: body.content.kind().as_str().to_string(),
        content_enc: state.cipher.encrypt(&content)?,
        code: new_code(),
        status: "pending".into(),
        failure: None,
        attempts: 0,
        signing_key_id: None,
        sha256: None,
        created_at: crate::store::now(),
        signed_at: None,
        sent_at: None,
        revoked_at: None,
        revoked_reason: None,
    };
    // A code collision (one in ~10^15) is retried with a fresh code.
    loop {
        match state.store.insert_document(&row).await {
            Ok(()) => break,
            Err(StoreError::Conflict(_)) => row.code = new_code(),
            Err(e) => return Err(e.into()),
        }
    }
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "document.issue", "document")
                .entity_id(row.id)
                .clinic(row.clinic_id)
                .ip(auth.ip.clone())
                .details(json!({"kind": row.kind, "patient_id": row.patient_id})),
        )
        .await?;
    state.documents.dispatch(row.id);
    Ok(HttpResponse::Accepted().json(json!({
        "id": row.id, "status": "pending", "kind": row.kind, "code": row.code,
        "verify_url": state.documents.verify_url(row.id),
    })))
}

#[utoipa::path(post, path = "/api/documents/preview", tag = "documents", security(("bearer" = [])),
    request_body = IssueRequest,
    responses((status = 200, description = "An unsigned PDF marked \"pré-visualização\" (nothing is stored)", content_type = "application/pdf"),
              (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn preview(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, AppError> {
    let (body, professional, clinic, patient) = checked(&state, &auth, body.into_inner()).await?;
    let mut input = crate::documents::render_input(
        body.content,
        &clinic,
        &professional,
        &auth.full_name,
        &patient,
        crate::store::now(),
        &state.documents.verify_url(uuid::Uuid::nil()),
        "XXXXX-XXXXX",
    );
    input.preview = true;
    let pdf = state.documents.preview(input).await?;
    Ok(pdf_response(pdf, "pre-visualizacao.pdf"))
}

fn pdf_response(pdf: Vec<u8>, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{name}\""),
        ))
        .body(pdf)
}

/// How the caller may see a document: as its issuer, as its patient, or as clinical staff
/// of its clinic (audited).
#[derive(PartialEq)]
enum Access {
    Issuer,
    Patient,
    Staff,
}

async fn load_for(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<(DocumentView, Access), AppError> {
    let view = state.store.document(id).await?.ok_or(AppError::NotFound)?;
    let access = if view.professional_user_id == auth.user_id {
        Access::Issuer
    } else if auth.patient_id == Some(view.d.patient_id) {
        Access::Patient
    } else if auth.has_role(view.d.clinic_id, &[Role::Professional, Role::ClinicAdmin]) {
        Access::Staff
    } else {
        // Someone else's document does not exist as far as the caller can tell.
        return Err(AppError::NotFound);
    };
    if access == Access::Staff {
        state
            .store
            .record_audit(
                &AuditEvent::new(Some(auth.user_id), "document.read", "document")
                    .entity_id(id)
                    .clinic(view.d.clinic_id)
                    .ip(auth.ip.clone()),
            )
            .await?;
    }
    Ok((view, access))
}

fn file_name(v: &DocumentView) -> String {
    format!("{}-{}.pdf", v.d.kind.replace('_', "-"), v.d.code)
}

#[utoipa::path(get, path = "/api/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Status and summary; the issuer and the patient also get the content, verification code and URL", body = Object),
              (status = 404, description = "Unknown, or not the caller's", body = ErrorBody)))]
pub async fn get_document(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let (view, access) = load_for(&state, &auth, path.into_inner()).await?;
    let mut out = summary_json(&view);
    if access != Access::Staff || auth.has_role(view.d.clinic_id, &[Role::Professional]) {
        let content: serde_json::Value =
            serde_json::from_str(&state.cipher.decrypt(&view.d.content_enc)?)
                .map_err(anyhow::Error::new)?;
        out["content"] = content;
        out["code"] = json!(view.d.code);
        out["verify_url"] = json!(state.documents.verify_url(view.d.id));
    }
    Ok(HttpResponse::Ok().json(out))
}

#[utoipa::path(get, path = "/api/documents/{id}/pdf", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The signed PDF", content_type = "application/pdf"),
              (status = 404, description = "Unknown, not the caller's", body = ErrorBody),
              (status = 409, description = "`not_signed` (still pending, or failed)", body = ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let (view, _) = load_for(&state, &auth, path.into_inner()).await?;
    signed_pdf(&state, &view).await
}

async fn signed_pdf(state: &AppState, view: &DocumentView) -> Result<HttpResponse, AppError> {
    match state.store.document_pdf(view.d.id).await? {
        Some(pdf) => Ok(pdf_response(pdf, &file_name(view))),
        None => Err(AppError::conflict(
            "not_signed",
            "o documento ainda não foi assinado",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/documents/{id}/revoke", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = RevokeRequest,
    responses((status = 200, description = "Revoked: verification now says so", body = Object),
              (status = 422, description = "`reason_required`", body = ErrorBody),
              (status = 403, description = "Only the issuer revokes", body = ErrorBody),
              (status = 409, description = "`already_revoked`", body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, AppError> {
    let (view, access) = load_for(&state, &auth, path.into_inner()).await?;
    if access != Access::Issuer {
        return Err(AppError::Forbidden);
    }
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ValidationError::new(
            "reason_required",
            "informe o motivo da revogação (até 500 caracteres)",
        )
        .into());
    }
    let mut view = view;
    let now = crate::store::now();
    if !state.store.revoke_document(view.d.id, reason, now).await? {
        return Err(AppError::conflict(
            "already_revoked",
            "o documento já foi revogado",
        ));
    }
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "document.revoke", "document")
                .entity_id(view.d.id)
                .clinic(view.d.clinic_id)
                .ip(auth.ip.clone())
                .details(json!({"reason": reason})),
        )
        .await?;
    view.d.revoked_at = Some(now);
    view.d.revoked_reason = Some(reason.to_string());
    state
        .documents
        .push(view.professional_user_id, "document.updated", &view);
    if let Some(u) = view.patient_user_id {
        state.documents.push(u, "document.updated", &view);
    }
    Ok(HttpResponse::Ok().json(summary_json(&view)))
}

#[utoipa::path(post, path = "/api/documents/{id}/send", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Sent: the patient's page shows it live (`document.received` on their `user:` topic) and a message is queued in the outbox", body = Object),
              (status = 403, body = ErrorBody),
              (status = 409, description = "`not_signed`, `revoked`", body = ErrorBody)))]
pub async fn send(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let (view, access) = load_for(&state, &auth, path.into_inner()).await?;
    if access != Access::Issuer {
        return Err(AppError::Forbidden);
    }
    if view.d.status != "signed" {
        return Err(AppError::conflict(
            "not_signed",
            "o documento ainda não foi assinado",
        ));
    }
    if view.d.revoked_at.is_some() {
        return Err(AppError::conflict("revoked", "o documento foi revogado"));
    }
    let now = crate::store::now();
    let payload = json!({
        "document_id": view.d.id, "kind": view.d.kind, "code": view.d.code,
        "verify_url": state.documents.verify_url(view.d.id),
        "professional_name": view.professional_name, "clinic_name": view.clinic_name,
    });
    let mut tx = state.store.begin().await?;
    state
        .store
        .insert_outbox(
            &mut tx,
            Some(view.d.clinic_id),
            Some(view.d.patient_id),
            "document_ready",
            &state.cipher.encrypt(&payload.to_string())?,
        )
        .await?;
    tx.commit().await?;
    state.store.mark_document_sent(view.d.id, now).await?;
    let mut view = view;
    view.d.sent_at = Some(now);
    if let Some(u) = view.patient_user_id {
        state.documents.push(u, "document.received", &view);
    }
    state
        .documents
        .push(view.professional_user_id, "document.updated", &view);
    Ok(HttpResponse::Ok().json(summary_json(&view)))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/documents", tag = "documents", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient's documents issued in this clinic, newest first (professionals and admins; audited)", body = Object),
              (status = 403, body = ErrorBody)))]
pub async fn list_for_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, PatientId)>,
) -> Result<HttpResponse, AppError> {
    let (clinic, patient) = path.into_inner();
    auth.require_role(clinic, &[Role::Professional, Role::ClinicAdmin])?;
    let docs = state
        .store
        .documents_of_patient(patient, Some(clinic))
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "document.list", "patient")
                .entity_id(patient)
                .clinic(clinic)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "documents": docs.iter().map(summary_json).collect::<Vec<_>>()
    })))
}

#[utoipa::path(get, path = "/api/me/documents", tag = "documents", security(("bearer" = [])),
    responses((status = 200, description = "A patient's own signed documents, or the documents a professional issued (last 200)", body = Object)))]
pub async fn mine(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let docs = if let Some(p) = auth.patient_id {
        state
            .store
            .documents_of_patient(p, None)
            .await?
            .into_iter()
            .filter(|d| d.d.status == "signed")
            .collect()
    } else if let Some(pro) = state.store.professional_by_user(auth.user_id).await? {
        state.store.documents_of_professional(pro.id).await?
    } else {
        Vec::new()
    };
    Ok(HttpResponse::Ok().json(json!({
        "documents": docs.iter().map(|d| {
            let mut s = summary_json(d);
            s["code"] = json!(d.d.code);
            s
        }).collect::<Vec<_>>()
    })))
}

async fn own_professional(
    state: &AppState,
    auth: &Auth,
) -> Result<crate::store::users::ProfessionalRow, AppError> {
    state
        .store
        .professional_by_user(auth.user_id)
        .await?
        .ok_or_else(|| {
            AppError::from(ValidationError::new(
                "not_a_professional",
                "somente profissionais têm chave de assinatura",
            ))
        })
}

fn key_json(k: &crate::store::documents::SigningKeyRow) -> serde_json::Value {
    json!({
        "source": k.source, "subject": k.subject, "issuer": k.issuer,
        "not_after": k.not_after, "created_at": k.created_at,
    })
}

#[utoipa::path(get, path = "/api/me/signing-key", tag = "documents", security(("bearer" = [])),
    responses((status = 200, description = "The professional's signing certificate (`installation_ca` or `imported`), issuing one under the installation CA if they have none", body = Object),
              (status = 422, description = "`not_a_professional`", body = ErrorBody)))]
pub async fn get_signing_key(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    let pro = own_professional(&state, &auth).await?;
    let key = state.documents.key_for(&pro, &auth.full_name).await?;
    Ok(HttpResponse::Ok().json(key_json(&key)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportKeyRequest {
    /// The .pfx/.p12 file, base64.
    pub pkcs12: String,
    pub password: String,
}

#[utoipa::path(put, path = "/api/me/signing-key", tag = "documents", security(("bearer" = [])),
    request_body = ImportKeyRequest,
    responses((status = 200, description = "Imported: the next documents are signed with it", body = Object),
              (status = 422, description = "`invalid_pkcs12` (wrong password or not PKCS#12), `pkcs12_without_key`, `unsupported_key`, `certificate_key_mismatch`, `certificate_expired`, `certificate_cannot_sign`, `not_a_professional`", body = ErrorBody)))]
pub async fn import_signing_key(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<ImportKeyRequest>,
) -> Result<HttpResponse, AppError> {
    let pro = own_professional(&state, &auth).await?;
    let body = body.into_inner();
    let data = base64::engine::general_purpose::STANDARD
        .decode(body.pkcs12.trim())
        .map_err(|_| ValidationError::new("invalid_pkcs12", pkcs12_message("invalid_pkcs12")))?;
    if data.len() > MAX_UPLOAD {
        return Err(AppError::PayloadTooLarge);
    }
    let key = state
        .documents
        .import_key(&pro, data, body.password)
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "signing_key.import", "professional")
                .entity_id(pro.id.0)
                .ip(auth.ip.clone())
                .details(json!({"subject": key.subject, "issuer": key.issuer})),
        )
        .await?;
    Ok(HttpResponse::Ok().json(key_json(&key)))
}

#[utoipa::path(delete, path = "/api/me/signing-key", tag = "documents", security(("bearer" = [])),
    responses((status = 204, description = "The current key is retired; the next document gets a certificate from the installation CA"),
              (status = 422, description = "`not_a_professional`", body = ErrorBody)))]
pub async fn reset_signing_key(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    let pro = own_professional(&state, &auth).await?;
    state
        .store
        .retire_signing_key(pro.id, crate::store::now())
        .await?;
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), "signing_key.retire", "professional")
                .entity_id(pro.id.0)
                .ip(auth.ip.clone()),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/public/signing-ca.pem", tag = "verification",
    responses((status = 200, description = "The installation CA's certificate (PEM), for validators to trust", content_type = "application/x-pem-file")))]
pub async fn ca_pem(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let der = state.documents.ca_certificate().await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"atende-ac.pem\"",
        ))
        .body(pki::pem(&der)))
}

/// What the public may see of a document: no CPF, initials of the patient only.
fn public_json(state: &AppState, v: &DocumentView) -> serde_json::Value {
    let initials: String = v
        .patient_name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .filter(|c| c.is_uppercase())
        .map(|c| format!("{c}."))
        .collect();
    let status = if v.d.revoked_at.is_some() {
        "revoked"
    } else {
        v.d.status.as_str()
    };
    json!({
        "id": v.d.id,
        "kind": v.d.kind,
        "status": status,
        "revoked_at": v.d.revoked_at,
        "revoked_reason": v.d.revoked_reason,
        "professional_name": v.professional_name,
        "council": format!("{} {}/{}", v.council.to_uppercase(), v.council_number, v.council_uf),
        "clinic_name": v.clinic_name,
        "patient_initials": initials,
        "issued_at": v.d.created_at,
        "signed_at": v.d.signed_at,
        "sha256": v.d.sha256,
        "pdf_url": format!("{}/api/public/documents/{}/pdf", state.documents.public_url(), v.d.code),
    })
}

async fn by_code(state: &AppState, code: &str) -> Result<DocumentView, AppError> {
    let code = normalize_code(code).ok_or(AppError::NotFound)?;
    state
        .store
        .document_by_code(&code)
        .await?
        .ok_or(AppError::NotFound)
}

#[utoipa::path(get, path = "/api/public/documents/{code}", tag = "verification",
    params(("code" = String, Path, description = "Verification code printed on the document (case and dash optional)")),
    responses((status = 200, description = "Kind, professional, patient initials, dates, status (`signed`, `revoked`, `pending`, `failed`) and the file's SHA-256", body = Object),
              (status = 404, body = ErrorBody)))]
pub async fn public_view(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = by_code(&state, &path).await?;
    Ok(HttpResponse::Ok().json(public_json(&state, &view)))
}

#[utoipa::path(get, path = "/api/public/documents/{code}/pdf", tag = "verification",
    params(("code" = String, Path)),
    responses((status = 200, description = "The signed PDF", content_type = "application/pdf"),
              (status = 404, body = ErrorBody), (status = 409, description = "`not_signed`", body = ErrorBody)))]
pub async fn public_pdf(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let view = by_code(&state, &path).await?;
    signed_pdf(&state, &view).await
}

#[utoipa::path(post, path = "/api/public/documents/check", tag = "verification",
    request_body(content = String, content_type = "application/pdf", description = "The PDF file (up to 10 MB)"),
    responses((status = 200, description = "`{\"intact\": true, \"document\": …}` when the file is, byte for byte, one we signed; `{\"intact\": false}` otherwise", body = Object),
              (status = 400, description = "`not_a_pdf`", body = ErrorBody),
              (status = 413, body = ErrorBody)))]
pub async fn check_file(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    if !body.starts_with(b"%PDF-") {
        return Err(AppError::bad_request(
            "not_a_pdf",
            "o arquivo enviado não é um PDF",
        ));
    }
    let sha = hex::encode(Sha256::digest(&body));
    Ok(
        HttpResponse::Ok().json(match state.store.document_by_sha256(&sha).await? {
            Some(v) => json!({"intact": true, "sha256": sha, "document": public_json(&state, &v)}),
            None => json!({"intact": false, "sha256": sha}),
        }),
    )
}

#[derive(Debug, Deserialize)]
pub struct ItiQuery {
    #[serde(rename = "_format")]
    pub format: Option<String>,
    #[serde(rename = "_secretCode")]
    pub secret_code: Option<String>,
}

/// The URL in the QR code. People are sent to the verification page; the ITI validator
/// (`?_format=application/validador-iti+json&_secretCode=CODE`) gets the signed file's URL.
#[utoipa::path(get, path = "/v/{id}", tag = "verification",
    params(("id" = String, Path, format = Uuid),
           ("_format" = Option<String>, Query, description = "`application/validador-iti+json` for the ITI validator"),
           ("_secretCode" = Option<String>, Query, description = "The verification code printed on the document")),
    responses((status = 200, description = "ITI protocol: `{\"version\":\"1.0.0\",\"prescription\":{\"signatureFiles\":[{\"url\":…}]}}`", body = Object),
              (status = 303, description = "A person: to the verification page"),
              (status = 401, description = "ITI protocol: wrong code", body = ErrorBody),
              (status = 404, description = "Unknown document", body = ErrorBody)))]
pub async fn iti_entry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let query = web::Query::<ItiQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(ItiQuery {
            format: None,
            secret_code: None,
        });
    let id = uuid::Uuid::parse_str(&path).map_err(|_| AppError::NotFound)?;
    // A raw `+` in a query string decodes to a space; validators do not always escape it.
    let iti = query
        .format
        .as_deref()
        .is_some_and(|f| f.replace(' ', "+") == "application/validador-iti+json");
    if !iti {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/#/verificar/{id}")))
            .finish());
    }
    let view = state.store.document(id).await?.ok_or(AppError::NotFound)?;
    let given = query
        .secret_code
        .as_deref()
        .and_then(normalize_code)
        .unwrap_or_default();
    if given.len() != view.d.code.len() || !subtle_eq(given.as_bytes(), view.d.code.as_bytes()) {
        return Err(AppError::unauthorized(
            "wrong_code",
            "código de verificação incorreto",
        ));
    }
    if view.d.status != "signed" {
        return Err(AppError::NotFound);
    }
    let url = format!(
        "{}/api/public/documents/{}/pdf",
        state.documents.public_url(),
        view.d.code
    );
    Ok(HttpResponse::Ok().json(json!({
        "version": "1.0.0",
        "prescription": {"signatureFiles": [{"url": url}]}
    })))
}

/// Constant-time equality of two equal-length byte strings.
fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
