//! Signed documents over HTTP: a professional issues (202, signed in the background), previews,
//! revokes and sends; the patient reads and downloads their own; staff of the clinic list a
//! patient's; pharmacies verify by code (public) or through the ITI validator protocol
//! (`/v/{id}`); anyone can check an uploaded file and download the installation CA.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::app::Auth;
use crate::app::documents::access::{self, DocumentGrants};
use crate::app::documents::keys::{self, ImportKeyRequest, SigningKeyView};
use crate::app::documents::verify::{self, FileCheck, ItiAnswer, ItiEntry, PublicDocument};
use crate::app::documents::warnings::Warnings;
use crate::app::documents::{
    self as documents, DocumentDetails, DocumentList, IssueRequest, IssuedDocument, IssuerScope,
    MAX_UPLOAD, OwnDocuments, Pdf, RevokeRequest,
};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::documents::view::DocumentSummary;
use crate::domain::{ClinicId, PatientId};
use crate::http::extract::client_ip;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/documents", web::post().to(issue))
        .route("/documents/preview", web::post().to(preview))
        .route("/documents/warnings", web::post().to(warnings))
        .route("/documents/{id}", web::get().to(get_document))
        .route("/documents/{id}/pdf", web::get().to(download))
        .route("/documents/{id}/revoke", web::post().to(revoke))
        .route("/documents/{id}/send", web::post().to(send))
        .route(
            "/clinics/{clinic_id}/patients/{patient_id}/documents",
            web::get().to(list_for_patient),
        )
        .service(
            web::resource("/clinics/{clinic_id}/document-grants")
                .route(web::get().to(get_grants))
                .route(web::put().to(put_grants)),
        )
        .route("/me/documents", web::get().to(mine))
        .route("/me/document-scope", web::get().to(my_scope))
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

fn pdf_response(pdf: Pdf) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{}\"", pdf.file_name),
        ))
        .body(pdf.bytes)
}

#[utoipa::path(post, path = "/api/documents", tag = "documents", security(("bearer" = [])),
    request_body = IssueRequest,
    responses((status = 202, description = "Stored as `pending` and queued for signing; `document.updated` on `user:<id>` when signed or failed", body = IssuedDocument),
              (status = 400, description = "`invalid_body` (unknown field, wrong type)", body = ErrorBody),
              (status = 422, description = "`patient_not_registered`, `not_a_professional`, `no_medications`, `no_exams`, `missing_field`, `invalid_days`, `invalid_start_date`, `invalid_cid`, `cid_consent_required`, `unsupported_character`, `field_too_long`, `too_many_items`", body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn issue(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, AppError> {
    let issued = documents::issue(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(issued))
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
    let pdf = documents::preview(&state, &auth, body.into_inner()).await?;
    Ok(pdf_response(pdf))
}

#[utoipa::path(post, path = "/api/documents/warnings", tag = "documents", security(("bearer" = [])),
    request_body = IssueRequest,
    responses((status = 200, description = "What the prescriber sees before signing: `warnings` lists each medicine matching an active allergy of the patient (`code: allergy`, substance, reaction, severity). Nothing is stored; a prescription's check is audited as `record.read`", body = Warnings),
              (status = 422, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn warnings(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(documents::check(&state, &auth, body.into_inner()).await?))
}

#[utoipa::path(get, path = "/api/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Status and summary; the issuer, the patient and the roles the clinic grants (`document-grants`) also get the content, verification code and URL. Reads by clinic members are audited", body = DocumentDetails),
              (status = 404, description = "Unknown, or not the caller's", body = ErrorBody)))]
pub async fn get_document(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let details = documents::document(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(details))
}

#[utoipa::path(get, path = "/api/documents/{id}/pdf", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The signed PDF (the issuer, the patient and the roles the clinic grants; audited for clinic members)", content_type = "application/pdf"),
              (status = 403, description = "`content_not_granted`: a professional or admin of the clinic whose role the clinic does not grant", body = ErrorBody),
              (status = 404, description = "Unknown, not the caller's", body = ErrorBody),
              (status = 409, description = "`not_signed` (still pending, or failed)", body = ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let pdf = documents::download(&state, &auth, path.into_inner()).await?;
    Ok(pdf_response(pdf))
}

#[utoipa::path(post, path = "/api/documents/{id}/revoke", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)), request_body = RevokeRequest,
    responses((status = 200, description = "Revoked: verification now says so", body = DocumentSummary),
              (status = 422, description = "`reason_required`", body = ErrorBody),
              (status = 403, description = "Only the issuer revokes", body = ErrorBody),
              (status = 409, description = "`already_revoked`, `not_signed` (pending or failed: nothing to revoke)", body = ErrorBody)))]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
    body: web::Json<RevokeRequest>,
) -> Result<HttpResponse, AppError> {
    let summary = documents::revoke(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[utoipa::path(post, path = "/api/documents/{id}/send", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Sent: the patient's page shows it live (`document.received` on their `user:` topic) and a message is queued in the outbox: by WhatsApp with the PDF where the clinic sends by WhatsApp and the patient has a phone and did not opt out, else by e-mail with the verification link", body = DocumentSummary),
              (status = 403, body = ErrorBody),
              (status = 409, description = "`not_signed`, `revoked`", body = ErrorBody)))]
pub async fn send(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, AppError> {
    let summary = documents::send(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(summary))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/patients/{patient_id}/documents", tag = "documents", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("patient_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The patient's documents issued in this clinic, newest first (professionals and admins; audited)", body = DocumentList),
              (status = 403, body = ErrorBody)))]
pub async fn list_for_patient(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, PatientId)>,
) -> Result<HttpResponse, AppError> {
    let (clinic, patient) = path.into_inner();
    let list = documents::patient_documents(&state, &auth, clinic, patient).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/document-grants", tag = "documents", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, description = "The roles that read the content and the PDF of documents they did not issue (the clinic's admins)", body = DocumentGrants),
              (status = 403, description = "Not an admin of the clinic", body = ErrorBody)))]
pub async fn get_grants(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let grants = access::grants(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(grants))
}

#[utoipa::path(put, path = "/api/clinics/{clinic_id}/document-grants", tag = "documents", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = DocumentGrants,
    responses((status = 200, description = "Replaced (audited as `clinic.document_grants`)", body = DocumentGrants),
              (status = 400, description = "`invalid_body` (an unknown role)", body = ErrorBody),
              (status = 403, description = "Not an admin of the clinic", body = ErrorBody)))]
pub async fn put_grants(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<DocumentGrants>,
) -> Result<HttpResponse, AppError> {
    let grants = access::set_grants(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(grants))
}

#[utoipa::path(get, path = "/api/me/documents", tag = "documents", security(("bearer" = [])),
    responses((status = 200, description = "A patient's own signed documents, or the documents a professional issued (last 200)", body = OwnDocuments)))]
pub async fn mine(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let list = documents::my_documents(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(list))
}

#[utoipa::path(get, path = "/api/me/document-scope", tag = "documents", security(("bearer" = [])),
    responses((status = 200, description = "What the caller may issue: their profession's line of the scope-of-practice table (kinds, medicine lists, CID limits on certificates, legal source), and a warning while the verification URL printed on documents points to this machine", body = IssuerScope),
              (status = 422, description = "`not_a_professional`", body = ErrorBody)))]
pub async fn my_scope(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, AppError> {
    let scope = documents::issuer_scope(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(scope))
}

#[utoipa::path(get, path = "/api/me/signing-key", tag = "documents", security(("bearer" = [])),
    responses((status = 200, description = "The professional's signing certificate (`installation_ca` or `imported`), issuing one under the installation CA if they have none", body = SigningKeyView),
              (status = 422, description = "`not_a_professional`", body = ErrorBody)))]
pub async fn get_signing_key(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    let key = keys::signing_key(&state, &auth).await?;
    Ok(HttpResponse::Ok().json(key))
}

#[utoipa::path(put, path = "/api/me/signing-key", tag = "documents", security(("bearer" = [])),
    request_body = ImportKeyRequest,
    responses((status = 200, description = "Imported: the next documents are signed with it", body = SigningKeyView),
              (status = 422, description = "`invalid_pkcs12` (wrong password or not PKCS#12), `pkcs12_without_key`, `unsupported_key`, `certificate_key_mismatch`, `certificate_expired`, `certificate_cannot_sign`, `not_a_professional`", body = ErrorBody)))]
pub async fn import_signing_key(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<ImportKeyRequest>,
) -> Result<HttpResponse, AppError> {
    let key = keys::import_signing_key(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(key))
}

#[utoipa::path(delete, path = "/api/me/signing-key", tag = "documents", security(("bearer" = [])),
    responses((status = 204, description = "The current key is retired; the next document gets a certificate from the installation CA"),
              (status = 422, description = "`not_a_professional`", body = ErrorBody)))]
pub async fn reset_signing_key(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    keys::reset_signing_key(&state, &auth).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/public/signing-ca.pem", tag = "verification",
    responses((status = 200, description = "The installation CA's certificate (PEM), for validators to trust", content_type = "application/x-pem-file")))]
pub async fn ca_pem(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pem = verify::ca_pem(&state).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"atende-ac.pem\"",
        ))
        .body(pem))
}

#[utoipa::path(get, path = "/api/public/documents/{code}", tag = "verification",
    params(("code" = String, Path, description = "Verification code printed on the document (case and dash optional)")),
    responses((status = 200, description = "Kind, professional, patient initials, dates, status (`signed`, `revoked`, `pending`, `failed`) and the file's SHA-256", body = PublicDocument),
              (status = 404, body = ErrorBody),
              (status = 429, description = "`too_many_attempts`: this address looked up too many codes that match nothing; Retry-After", body = ErrorBody)))]
pub async fn public_view(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let document =
        verify::public_document(&state, &path, ip.as_deref().unwrap_or("unknown")).await?;
    Ok(HttpResponse::Ok().json(document))
}

#[utoipa::path(get, path = "/api/public/documents/{code}/pdf", tag = "verification",
    params(("code" = String, Path)),
    responses((status = 200, description = "The signed PDF", content_type = "application/pdf"),
              (status = 404, body = ErrorBody), (status = 409, description = "`not_signed`", body = ErrorBody),
              (status = 429, description = "`too_many_attempts`, with Retry-After", body = ErrorBody)))]
pub async fn public_pdf(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let pdf = verify::public_pdf(&state, &path, ip.as_deref().unwrap_or("unknown")).await?;
    Ok(pdf_response(pdf))
}

#[utoipa::path(post, path = "/api/public/documents/check", tag = "verification",
    request_body(content = String, content_type = "application/pdf", description = "The PDF file (up to 10 MB)"),
    responses((status = 200, description = "`intact` with the document when the file is, byte for byte, one we signed, or one we signed with only signatures added later (`further_signatures`); `intact: false` otherwise (`changed_after_signing` when it starts with one we signed)", body = FileCheck),
              (status = 400, description = "`not_a_pdf`", body = ErrorBody),
              (status = 413, body = ErrorBody)))]
pub async fn check_file(
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let checked = verify::check_file(&state, &body).await?;
    Ok(HttpResponse::Ok().json(checked))
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
    responses((status = 200, description = "ITI protocol: `{\"version\":\"1.0.0\",\"prescription\":{\"signatureFiles\":[{\"url\":…}],\"icpBrasil\":false,\"notice\":\"Assinatura eletrônica não ICP-Brasil…\"}}`", body = ItiAnswer),
              (status = 303, description = "A person: to the verification page"),
              (status = 401, description = "ITI protocol: wrong code", body = ErrorBody),
              (status = 404, description = "Unknown document", body = ErrorBody),
              (status = 410, description = "ITI protocol: `document_revoked` — the issuer revoked it (the message says when and why); the file is not offered", body = ErrorBody),
              (status = 429, description = "`too_many_attempts`: too many unknown documents or wrong codes from this address; Retry-After", body = ErrorBody)))]
pub async fn iti_entry(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    // A query that does not parse is no ITI request: the person goes to the page.
    let query = web::Query::<ItiQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(ItiQuery {
            format: None,
            secret_code: None,
        });
    let ip = client_ip(&req, state.settings.server.trust_proxy_headers);
    let entry = verify::iti_entry(
        &state,
        &path,
        query.format.as_deref(),
        query.secret_code.as_deref(),
        ip.as_deref().unwrap_or("unknown"),
    )
    .await?;
    Ok(match entry {
        ItiEntry::Page(id) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/#/verificar/{id}")))
            .finish(),
        ItiEntry::Validator(answer) => HttpResponse::Ok().json(answer),
        ItiEntry::Revoked { message } => HttpResponse::Gone().json(ErrorBody {
            code: "document_revoked".into(),
            message,
            current_version: None,
            field: None,
        }),
    })
}
