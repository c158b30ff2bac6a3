//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::lgpd;
use super::sms;
use super::{
    agenda, auth, billing, cash, chat, clinics, consult_media, consults, documents, health, links,
    me, messages, mfa, oidc, passkeys, password_reset, patient_links, patients, queue,
    queue_public, record, reports, waitlist, whatsapp, ws,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

/// OpenAPI requires a description on every response; where a handler's annotation gives
/// none, the status code's reason phrase is written in.
struct ResponseDescriptions;

impl Modify for ResponseDescriptions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
                for (status, response) in op.responses.responses.iter_mut() {
                    if let utoipa::openapi::RefOr::T(response) = response
                        && response.description.trim().is_empty()
                    {
                        response.description = reason_phrase(status).to_string();
                    }
                }
            }
        }
    }
}

fn reason_phrase(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Response")
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "atende API",
        description = "Real-time clinic platform. Errors are always `{\"code\", \"message\"}` with a stable snake_case code; \
malformed JSON is 400 `malformed_json`, a wrong field type is 400 `invalid_body`, a bad path parameter 400 `invalid_path`, a non-JSON body 415 `unsupported_media_type`, an oversized body 413 `body_too_large`.",
    ),
    paths(
        auth::signup, auth::signup_confirm, auth::login, auth::refresh, auth::logout, auth::logout_all,
        auth::change_password, auth::terms,
        password_reset::request, password_reset::confirm,
        messages::list, messages::get_settings, messages::put_settings,
        messages::list_texts, messages::put_text, messages::reset_text, messages::preview_text,
        me::me, me::consents, me::withdraw_consent, me::accept_consent,
        mfa::login_second_step, mfa::status, mfa::start_totp, mfa::confirm_totp, mfa::disable_totp,
        mfa::regenerate_recovery_codes, mfa::get_clinic_security, mfa::put_clinic_security,
        clinics::list_clinics, clinics::create_clinic_handler, clinics::get_clinic,
        clinics::list_members, clinics::add_professional_handler, clinics::add_staff_handler,
        clinics::remove_member_role_handler,
        patients::list_patients, patients::create_patient_handler, patients::get_clinic_patient,
        patients::update_clinic_patient, patients::my_record, patients::get_patient,
        patients::set_my_address,
        patient_links::record_links, patient_links::issue_code, patient_links::revoke_by_staff,
        patient_links::confirm_suggestion, patient_links::send_link, patient_links::accept_link,
        patient_links::my_links, patient_links::redeem, patient_links::revoke_mine,
        chat::my_rooms, chat::open_room, chat::history, chat::upload_attachment,
        chat::download_attachment, chat::get_office_hours, chat::put_office_hours,
        chat::my_contacts, chat::start_room,
        ws::ticket, ws::connect,
        queue::board, queue::check_in, queue::call_next, queue::act,
        queue::staff_panel, queue::get_settings, queue::put_settings, queue::new_panel_token,
        queue::checkin_link, queue::rotate_checkin_link,
        queue_public::panel, queue_public::track, queue_public::checkin_clinic,
        queue_public::self_check_in,
        agenda::services::list_services, agenda::services::create_service, agenda::services::update_service,
        agenda::schedule::get_schedule, agenda::schedule::put_schedule,
        agenda::exceptions::list_exceptions, agenda::exceptions::create_exception, agenda::exceptions::delete_exception,
        agenda::slots::staff_slots, agenda::slots::public_slots, agenda::slots::public_booking, agenda::slots::public_clinics,
        agenda::appointments::list_appointments, agenda::appointments::book, agenda::appointments::reschedule,
        agenda::appointments::cancel, agenda::appointments::confirm, agenda::appointments::set_status,
        agenda::mine::my_agenda, agenda::mine::my_appointments,
        waitlist::join, waitlist::list, waitlist::mine, waitlist::cancel, waitlist::answer, waitlist::release,
        links::preview, links::use_link,
        agenda::ical::ical_status, agenda::ical::create_ical, agenda::ical::delete_ical, agenda::ical::ical_feed,
        documents::issue, documents::preview, documents::get_document, documents::download,
        documents::revoke, documents::send, documents::list_for_patient, documents::mine,
        documents::get_signing_key, documents::import_signing_key, documents::reset_signing_key,
        documents::ca_pem, documents::public_view, documents::public_pdf, documents::check_file,
        documents::iti_entry, documents::get_grants, documents::put_grants, documents::my_scope,
        documents::warnings,
        consults::get_consult, consults::ice, consults::public_preview,
        consult_media::check, consult_media::publishers, consult_media::publish,
        consult_media::unpublish, consult_media::subscribe, consult_media::invite,
        consult_media::guests, consult_media::revoke_guest,
        record::access, record::create_encounter, record::get_encounter, record::save_encounter,
        record::sign_encounter, record::add_addendum, record::list_allergies, record::add_allergy,
        record::update_allergy, record::break_glass, record::timeline, record::my_encounters,
        record::break_glass_log, record::list_problems, record::add_problem,
        record::update_problem, record::list_vitals, record::add_vitals, record::search_cid10,
        record::list_medications, record::stop_medication,
        record::record_fhir, record::my_record_fhir,
        billing::price_table, billing::set_professional_price, billing::remove_professional_price,
        billing::get_pix_settings, billing::put_pix_settings, billing::get_payment, billing::charge_pix,
        billing::refresh_payment, billing::refund_payment, billing::list_payments, billing::get_ledger, billing::pix_webhook,
        cash::current, cash::open, cash::record, cash::close, cash::sessions, cash::adjust,
        reports::revenue, reports::revenue_csv, reports::attendance_report,
        whatsapp::verify, whatsapp::webhook, whatsapp::list_consents, whatsapp::set_consent,
        messages::unsubscribe_page, messages::unsubscribe,
        health::health, health::ready, health::live, health::metrics,
        oidc::get_connection, oidc::put_connection, oidc::delete_connection, oidc::login_info,
        oidc::start, oidc::callback,
        passkeys::list, passkeys::start_registration, passkeys::finish_registration, passkeys::remove,
        passkeys::start_second_factor, passkeys::start_login, passkeys::finish_login,
        agenda::day::my_day, agenda::day::start_visit, agenda::day::finish_visit,
        sms::status, sms::inbound,
        lgpd::export_patient, lgpd::anonymise_patient, lgpd::export_mine,
    ),
    components(schemas(crate::app::session::MfaChallenge)),
    modifiers(&BearerAuth, &ResponseDescriptions),
    tags(
        (name = "auth", description = "Sign-up, login, tokens"),
        (name = "me", description = "The caller's account and LGPD consents"),
        (name = "clinics", description = "Clinics, professionals and staff"),
        (name = "patients", description = "Patient records (audited)"),
        (name = "chat", description = "Chat rooms (messages travel over the WebSocket)"),
        (name = "queue", description = "The waiting room"),
        (name = "agenda", description = "Availability, appointments and the public booking page"),
        (name = "documents", description = "Signed prescriptions, certificates and exam requests"),
        (name = "verification", description = "Public verification of signed documents (pharmacies, the ITI validator)"),
        (name = "record", description = "The clinical record: encounters, addenda, allergies, problems, vital signs, timeline (every read and write audited); the CID-10 search"),
        (name = "consults", description = "Teleconsultations (live part on the WebSocket topic `consult:<id>`)"),
        (name = "realtime", description = "The WebSocket (protocol in docs/protocol.md)"),
        (name = "messaging", description = "Messages to patients (e-mail, WhatsApp, SMS): delivery state, each clinic's settings, consent per channel, the WhatsApp and SMS webhooks"),
        (name = "billing", description = "Prices, Pix charges and refunds (API Pix), the PSP's webhook, the ledger"),
        (name = "cash", description = "The front desk's cash register: sessions, payments at the desk, closing reports, adjustments"),
        (name = "operations", description = "Health and metrics"),
        (name = "lgpd", description = "LGPD data-subject requests: export everything about a person, anonymise a record where the law allows (docs/lgpd.md)"),
    )
)]
pub struct ApiDoc;

pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    /// Where a body schema is not a named schema: a bare `object`, or an array of them.
    fn untyped(schema: &Value) -> bool {
        if schema.get("$ref").is_some() {
            return false;
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("array") => schema.get("items").is_none_or(untyped),
            // A raw file (a PDF, an image, a calendar) or text is a body of its own kind.
            Some("string") => false,
            // A bare object: a client generator gets nothing from it.
            Some("object") | None => {
                schema.get("oneOf").is_none()
                    && schema.get("allOf").is_none()
                    && schema.get("properties").is_none()
            }
            Some(_) => false,
        }
    }

    fn content_schemas(v: &Value) -> Vec<&Value> {
        v.get("content")
            .and_then(Value::as_object)
            .map(|c| c.values().filter_map(|m| m.get("schema")).collect())
            .unwrap_or_default()
    }

    fn bodies(op: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        if let Some(rb) = op.get("requestBody") {
            out.extend(
                content_schemas(rb)
                    .into_iter()
                    .map(|s| ("request".to_string(), s)),
            );
        }
        for (status, resp) in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            out.extend(
                content_schemas(resp)
                    .into_iter()
                    .map(|s| (status.clone(), s)),
            );
        }
        out
    }

    #[test]
    fn every_request_and_response_body_is_a_named_schema() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi serializes");
        let mut bad = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                for (which, schema) in bodies(op) {
                    if untyped(schema) {
                        bad.push(format!(
                            "{} {path} {which}: {schema}",
                            method.to_uppercase()
                        ));
                    }
                }
            }
        }
        bad.sort();
        assert!(
            bad.is_empty(),
            "{} bodies are untyped; give each a named schema (utoipa::ToSchema):\n  {}",
            bad.len(),
            bad.join("\n  ")
        );
    }

    /// openapi-spec-validator (CI step 5) refuses a response without a description.
    #[test]
    fn every_response_has_a_description() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi serializes");
        let mut bad = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                for (status, resp) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let described = resp
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|d| !d.trim().is_empty());
                    if resp.get("$ref").is_none() && !described {
                        bad.push(format!("{} {path} {status}", method.to_uppercase()));
                    }
                }
            }
        }
        assert!(bad.is_empty(), "responses without a description: {bad:?}");
    }

    /// Path parameters named in the template, query parameters not: a parameter declared
    /// `in: path` that the path does not name makes the document invalid.
    #[test]
    fn path_parameters_are_in_the_path_and_operation_ids_are_unique() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi serializes");
        let mut bad = Vec::new();
        let mut ids = std::collections::BTreeMap::<String, usize>::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    *ids.entry(id.to_string()).or_default() += 1;
                }
                for p in op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = p["name"].as_str().unwrap_or_default();
                    if p["in"] == "path" && !path.contains(&format!("{{{name}}}")) {
                        bad.push(format!(
                            "{} {path}: path parameter {name}",
                            method.to_uppercase()
                        ));
                    }
                }
            }
        }
        bad.extend(
            ids.into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(id, n)| format!("operationId {id} used {n} times")),
        );
        assert!(bad.is_empty(), "{bad:#?}");
    }

    #[test]
    fn every_referenced_schema_is_defined() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("openapi serializes");
        let defined = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let text = doc.to_string();
        let mut missing: Vec<&str> = text
            .split("\"#/components/schemas/")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|name| !defined.contains_key(*name))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "referenced but not in components: {missing:?}"
        );
    }
}
