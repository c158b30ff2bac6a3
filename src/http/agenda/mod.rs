//! The agenda over HTTP, one module per resource: services, a professional's schedule
//! (weekly hours and booking rules), exceptions, free slots and the public booking page,
//! appointments (book, reschedule, cancel, status), the caller's own agenda and
//! appointments, and the iCal feed. Each handler parses, calls one use case in
//! `app::agenda` and maps its result; every change is pushed live (see docs/protocol.md).

pub mod appointments;
pub mod day;
pub mod exceptions;
pub mod ical;
pub mod mine;
pub mod schedule;
pub mod services;
pub mod slots;

use actix_web::web;

pub use ical::ical_feed;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/clinics/{clinic_id}/services/{service_id}",
        web::put().to(services::update_service),
    )
    .route(
        "/clinics/{clinic_id}/services",
        web::get().to(services::list_services),
    )
    .route(
        "/clinics/{clinic_id}/services",
        web::post().to(services::create_service),
    )
    .route(
        "/clinics/{clinic_id}/professionals/{user_id}/schedule",
        web::get().to(schedule::get_schedule),
    )
    .route(
        "/clinics/{clinic_id}/professionals/{user_id}/schedule",
        web::put().to(schedule::put_schedule),
    )
    .route(
        "/clinics/{clinic_id}/exceptions",
        web::get().to(exceptions::list_exceptions),
    )
    .route(
        "/clinics/{clinic_id}/exceptions",
        web::post().to(exceptions::create_exception),
    )
    .route(
        "/clinics/{clinic_id}/exceptions/{exception_id}",
        web::delete().to(exceptions::delete_exception),
    )
    .route(
        "/clinics/{clinic_id}/slots",
        web::get().to(slots::staff_slots),
    )
    .route(
        "/clinics/{clinic_id}/appointments",
        web::get().to(appointments::list_appointments),
    )
    .route(
        "/clinics/{clinic_id}/appointments",
        web::post().to(appointments::book),
    )
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/reschedule",
        web::post().to(appointments::reschedule),
    )
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/cancel",
        web::post().to(appointments::cancel),
    )
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/confirm",
        web::post().to(appointments::confirm),
    )
    .route(
        "/clinics/{clinic_id}/appointments/{appointment_id}/status",
        web::post().to(appointments::set_status),
    )
    .route("/me/agenda", web::get().to(mine::my_agenda))
    .route("/me/appointments", web::get().to(mine::my_appointments))
    .route("/me/ical", web::get().to(ical::ical_status))
    .route("/me/ical", web::post().to(ical::create_ical))
    .route("/me/ical", web::delete().to(ical::delete_ical))
    .route("/public/clinics", web::get().to(slots::public_clinics))
    .route(
        "/public/clinics/{clinic_id}/booking",
        web::get().to(slots::public_booking),
    )
    .route(
        "/public/clinics/{clinic_id}/slots",
        web::get().to(slots::public_slots),
    )
    .route("/me/day", web::get().to(day::my_day))
    .route(
        "/me/day/{appointment_id}/start",
        web::post().to(day::start_visit),
    )
    .route(
        "/me/day/{appointment_id}/finish",
        web::post().to(day::finish_visit),
    );
}
