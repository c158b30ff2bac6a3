//! `ClinicAgenda`: one actor per clinic. Bookings, reschedules, cancellations and status
//! changes go through it: validated against the professional's availability, written in
//! one transaction with the topic event (the database refuses overlaps — see
//! `store::agenda`), then pushed on `clinic:<id>:agenda` (staff), `clinic:<id>:slots`
//! (public booking pages: which days changed) and the patient's `user:<id>` topic.

pub mod actor;
pub mod appointments;
pub mod booking;
pub mod slots;
pub mod waitlist;

pub use actor::ClinicAgenda;
pub use appointments::{
    Appointment, AppointmentLinks, CANCEL_LINK, CONFIRM_LINK, Names, Record, UsedLink, names_of,
};
pub use booking::{Book, BookingQuota, Change, Modify};
pub use slots::{DEFAULT_MINUTES, SlotQuery, slots_for};
