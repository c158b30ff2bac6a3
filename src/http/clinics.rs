//! Clinics and their people over HTTP: professionals (who may work in several clinics) and
//! staff.

use actix_web::{HttpResponse, web};

use crate::app::Auth;
use crate::app::clinics::{
    self, ClinicView, MemberView, NewClinicRequest, NewProfessionalRequest, NewStaffRequest,
};
use crate::app::error::{AppError, ErrorBody};
use crate::app::state::AppState;
use crate::domain::{ClinicId, UserId};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/clinics", web::get().to(list_clinics))
        .route("/clinics", web::post().to(create_clinic_handler))
        .route("/clinics/{clinic_id}", web::get().to(get_clinic))
        .route("/clinics/{clinic_id}/members", web::get().to(list_members))
        .route(
            "/clinics/{clinic_id}/professionals",
            web::post().to(add_professional_handler),
        )
        .route(
            "/clinics/{clinic_id}/staff",
            web::post().to(add_staff_handler),
        )
        .route(
            "/clinics/{clinic_id}/members/{user_id}/roles/{role}",
            web::delete().to(remove_member_role_handler),
        );
}

#[utoipa::path(get, path = "/api/clinics", tag = "clinics", security(("bearer" = [])),
    responses((status = 200, description = "Clinics the caller works in (all, for platform admins)", body = [ClinicView])))]
pub async fn list_clinics(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(clinics::list_clinics(&state, &auth).await?))
}

#[utoipa::path(post, path = "/api/clinics", tag = "clinics", security(("bearer" = [])),
    request_body = NewClinicRequest,
    responses((status = 201, body = ClinicView),
              (status = 403, description = "Only platform admins create clinics", body = ErrorBody),
              (status = 409, description = "`cnpj_taken`", body = ErrorBody),
              (status = 422, description = "`invalid_cnpj`, `invalid_time_zone`, `invalid_postal_code`, …", body = ErrorBody)))]
pub async fn create_clinic_handler(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<NewClinicRequest>,
) -> Result<HttpResponse, AppError> {
    let clinic = clinics::create_clinic(&state, &auth, &body).await?;
    Ok(HttpResponse::Created().json(clinic))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, body = ClinicView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_clinic(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let clinic = clinics::get_clinic(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(clinic))
}

#[utoipa::path(get, path = "/api/clinics/{clinic_id}/members", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)),
    responses((status = 200, body = [MemberView]), (status = 403, body = ErrorBody)))]
pub async fn list_members(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
) -> Result<HttpResponse, AppError> {
    let members = clinics::list_members(&state, &auth, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(members))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/professionals", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = NewProfessionalRequest,
    responses((status = 201, body = MemberView),
              (status = 409, description = "`council_number_taken`, `email_taken`", body = ErrorBody),
              (status = 422, description = "`invalid_council_number`, `council_mismatch`, `invalid_uf`, …", body = ErrorBody)))]
pub async fn add_professional_handler(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<NewProfessionalRequest>,
) -> Result<HttpResponse, AppError> {
    let member = clinics::add_professional(&state, &auth, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(member))
}

#[utoipa::path(post, path = "/api/clinics/{clinic_id}/staff", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid)), request_body = NewStaffRequest,
    responses((status = 201, body = MemberView), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_staff_handler(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<ClinicId>,
    body: web::Json<NewStaffRequest>,
) -> Result<HttpResponse, AppError> {
    let member = clinics::add_staff(&state, &auth, path.into_inner(), &body).await?;
    Ok(HttpResponse::Created().json(member))
}

#[utoipa::path(delete, path = "/api/clinics/{clinic_id}/members/{user_id}/roles/{role}", tag = "clinics", security(("bearer" = [])),
    params(("clinic_id" = String, Path, format = Uuid), ("user_id" = String, Path, format = Uuid),
           ("role" = String, Path, description = "`clinic_admin`, `professional` or `receptionist`")),
    responses((status = 204, description = "The role is taken away (audited); the member's connections close on every node with 4002 `access changed`, and joins are authorized against the roles left"),
              (status = 403, description = "Only the clinic's admins and platform admins", body = ErrorBody),
              (status = 404, description = "The member does not hold this role here", body = ErrorBody),
              (status = 409, description = "`last_admin`: the clinic's only admin keeps the role", body = ErrorBody),
              (status = 422, description = "`invalid_role`", body = ErrorBody)))]
pub async fn remove_member_role_handler(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(ClinicId, UserId, String)>,
) -> Result<HttpResponse, AppError> {
    let (clinic, member, role) = path.into_inner();
    clinics::remove_member_role(&state, &auth, clinic, member, &role).await?;
    Ok(HttpResponse::NoContent().finish())
}
