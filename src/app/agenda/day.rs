//! "Meu dia": a professional's appointments of one day in every clinic they work in, in
//! time order, with the patient being seen and the next one; and the two moves of a visit
//! the professional makes from there — start (the appointment goes in progress and the
//! encounter of the clinical record opens) and finish (attended). Both walk the same paths
//! as the desk: a patient checked in at the waiting room moves through the queue (which
//! carries the move to the appointment), any other through `visit::advance_visit`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::RangeQuery;
use super::mine::my_agenda;
use super::visit::advance_visit;
use crate::actors::agenda::Appointment;
use crate::app::Auth;
use crate::app::error::AppError;
use crate::app::queue::desk::{ActRequest, act_on_entry, call_patient};
use crate::app::record::encounters::{NewEncounter, create_encounter};
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::queue::QueueEntryStatus;
use crate::domain::record::EncounterStatus;
use crate::domain::{ClinicId, Role};
use crate::security::audit::AuditEvent;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayQuery {
    /// The local date (YYYY-MM-DD); today in the zone of the caller's first clinic when
    /// absent.
    pub date: Option<NaiveDate>,
}

/// A clinic the professional works in, as the day shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayClinic {
    pub id: ClinicId,
    pub name: String,
    /// IANA zone: the clinic's appointments are shown in it.
    pub time_zone: String,
}

/// One day of a professional's work in every clinic.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyDay {
    pub date: NaiveDate,
    pub clinics: Vec<DayClinic>,
    /// Every clinic's appointments of that local date (each in its clinic's zone), in
    /// time order; each carries its `clinic_name` and `time_zone`.
    pub appointments: Vec<Appointment>,
    /// The appointment in progress, if any (the patient being seen).
    pub current_id: Option<uuid::Uuid>,
    /// The next patient: the first who arrived (checked in), else the first appointment
    /// still ahead (scheduled or confirmed, not over yet).
    pub next_id: Option<uuid::Uuid>,
}

/// What starting a visit did.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitStarted {
    pub appointment: Appointment,
    /// The encounter (a draft of the clinical record) opened for this appointment; the
    /// caller's existing draft of it when there is one.
    pub encounter_id: uuid::Uuid,
}

/// The clinics where the caller is a professional, or 403 `not_a_professional`.
fn professional_clinics(auth: &Auth) -> Result<Vec<ClinicId>, AppError> {
    let mut clinics: Vec<ClinicId> = Vec::new();
    for (clinic, role) in &auth.roles {
        if *role == Role::Professional && !clinics.contains(clinic) {
            clinics.push(*clinic);
        }
    }
    if clinics.is_empty() {
        return Err(AppError::forbidden(
            "not_a_professional",
            "somente profissionais têm o seu dia de atendimentos",
        ));
    }
    Ok(clinics)
}

/// The appointment being seen and the next patient among `day` (sorted by time) at `now`.
pub fn current_and_next(
    day: &[Appointment],
    now: DateTime<Utc>,
) -> (Option<uuid::Uuid>, Option<uuid::Uuid>) {
    use AppointmentStatus::*;
    let current = day.iter().find(|a| a.status == InProgress).map(|a| a.id);
    let arrived = day.iter().find(|a| a.status == CheckedIn);
    let ahead = day
        .iter()
        .find(|a| matches!(a.status, Scheduled | Confirmed) && a.ends_at > now);
    (current, arrived.or(ahead).map(|a| a.id))
}

/// The calling professional's day (403 for anyone who is no clinic's professional).
pub async fn my_day(state: &AppState, auth: &Auth, query: &DayQuery) -> Result<MyDay, AppError> {
    let ids = professional_clinics(auth)?;
    let mut clinics = Vec::new();
    for id in ids {
        if let Some(c) = state.store.clinic_by_id(id).await? {
            clinics.push(DayClinic {
                id,
                time_zone: c.tz().name().to_string(),
                name: c.name,
            });
        }
    }
    let now = state.clock.now();
    let date = match query.date {
        Some(d) => d,
        None => {
            let tz = clinics
                .first()
                .and_then(|c| c.time_zone.parse::<chrono_tz::Tz>().ok())
                .unwrap_or(chrono_tz::America::Sao_Paulo);
            now.with_timezone(&tz).date_naive()
        }
    };
    let range = RangeQuery {
        from: Some(date),
        to: Some(date),
        ..RangeQuery::default()
    };
    let mut appointments = my_agenda(state, auth, &range).await?;
    appointments.sort_by_key(|a| (a.starts_at, a.id));
    let (current_id, next_id) = current_and_next(&appointments, now);
    Ok(MyDay {
        date,
        clinics,
        appointments,
        current_id,
        next_id,
    })
}

/// The caller's own appointment (404 for anyone else's: it does not exist for them).
async fn own_appointment(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<Appointment, AppError> {
    let v = state
        .store
        .appointment_view(id)
        .await?
        .filter(|v| {
            v.a.professional_user_id == auth.user_id
                && auth.has_role(v.a.clinic_id, &[Role::Professional])
        })
        .ok_or(AppError::NotFound)?;
    Ok(Appointment::from(&v))
}

/// Where a visit move left the appointment, or 409 `invalid_transition` when it could not
/// get to `want` (cancelled meanwhile, or finished without having started).
async fn landed(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
    want: AppointmentStatus,
    action: &'static str,
) -> Result<Appointment, AppError> {
    let a = own_appointment(state, auth, id).await?;
    if a.status != want {
        return Err(AppError::conflict(
            "invalid_transition",
            format!(
                "não é possível fazer isso com uma consulta em '{}'",
                a.status
            ),
        ));
    }
    state
        .store
        .record_audit(
            &AuditEvent::new(Some(auth.user_id), action, "appointment")
                .entity_id(id)
                .clinic(a.clinic_id)
                .ip(auth.ip.clone())
                .details(json!({"status": a.status})),
        )
        .await?;
    Ok(a)
}

/// Move the visit to `to`: through the waiting room when the patient's call there is in
/// one of `from` (the queue carries the move to the appointment), else straight through
/// the agenda ([`advance_visit`]).
async fn move_visit(
    state: &AppState,
    auth: &Auth,
    a: &Appointment,
    from: &[QueueEntryStatus],
    action: &str,
    to: AppointmentStatus,
) -> Result<(), AppError> {
    let entry = state
        .store
        .active_entry_of_appointment(a.id)
        .await?
        .filter(|e| from.contains(&e.status));
    match entry {
        Some(entry) => {
            act_on_entry(
                state,
                auth,
                a.clinic_id,
                entry.id,
                action,
                ActRequest::default(),
            )
            .await?;
        }
        None => advance_visit(state, a.id, to).await,
    }
    Ok(())
}

/// Start the visit: the appointment goes in progress (through the queue when the patient
/// was called there) and the encounter of the record opens (the caller's draft of this
/// appointment, or a new one).
pub async fn start_visit(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<VisitStarted, AppError> {
    let a = own_appointment(state, auth, id).await?;
    if a.status != AppointmentStatus::InProgress {
        // A patient still waiting at the desk is called in first (the panel tells them
        // where to go), so the waiting room no longer shows them waiting.
        let waiting = state
            .store
            .active_entry_of_appointment(a.id)
            .await?
            .filter(|e| e.status == QueueEntryStatus::Waiting);
        if let Some(entry) = waiting {
            call_patient(state, auth, a.clinic_id, entry.id).await?;
        }
        let from = [QueueEntryStatus::Called];
        move_visit(
            state,
            auth,
            &a,
            &from,
            "start",
            AppointmentStatus::InProgress,
        )
        .await?;
    }
    let appointment = landed(
        state,
        auth,
        id,
        AppointmentStatus::InProgress,
        "appointment.visit_started",
    )
    .await?;
    let drafts = state
        .store
        .encounters_of_record(
            a.clinic_id,
            a.patient_id,
            auth.user_id,
            state.clock.now() + chrono::Duration::seconds(1),
            100,
        )
        .await?;
    let existing = drafts.into_iter().find(|e| {
        e.appointment_id == Some(id)
            && e.author_user_id == auth.user_id
            && e.status == EncounterStatus::Draft
    });
    let encounter_id = match existing {
        Some(e) => e.id,
        None => {
            let body = NewEncounter {
                appointment_id: Some(id),
                content: Default::default(),
            };
            create_encounter(state, auth, a.clinic_id, a.patient_id, body)
                .await?
                .id
        }
    };
    Ok(VisitStarted {
        appointment,
        encounter_id,
    })
}

/// Finish the visit: the appointment is attended (`done`), and the patient's call in the
/// waiting room ends with it.
pub async fn finish_visit(
    state: &AppState,
    auth: &Auth,
    id: uuid::Uuid,
) -> Result<Appointment, AppError> {
    let a = own_appointment(state, auth, id).await?;
    if a.status != AppointmentStatus::InProgress {
        return Err(AppError::conflict(
            "invalid_transition",
            "inicie o atendimento antes de finalizá-lo",
        ));
    }
    let from = [QueueEntryStatus::Called, QueueEntryStatus::InService];
    move_visit(state, auth, &a, &from, "finish", AppointmentStatus::Done).await?;
    landed(
        state,
        auth,
        id,
        AppointmentStatus::Done,
        "appointment.visit_finished",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(minutes: i64, status: AppointmentStatus) -> Appointment {
        let t0 = DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000);
        Appointment {
            id: uuid::Uuid::now_v7(),
            clinic_id: ClinicId(uuid::Uuid::nil()),
            professional_user_id: crate::domain::UserId(uuid::Uuid::nil()),
            professional_name: "Helena".into(),
            professional_profession: None,
            professional_gender: None,
            patient_id: crate::domain::PatientId(uuid::Uuid::nil()),
            patient_name: "Ana".into(),
            service_id: None,
            service_name: None,
            kind: "in_person".into(),
            status,
            starts_at: t0 + Duration::minutes(minutes),
            ends_at: t0 + Duration::minutes(minutes + 30),
            notes: String::new(),
            cancel_reason: None,
            hold_expires_at: None,
            clinic_name: "Clínica".into(),
            time_zone: "America/Sao_Paulo".into(),
            links: None,
        }
    }

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
    }

    #[test]
    fn the_next_patient_is_the_one_who_arrived_before_the_one_still_ahead() {
        use AppointmentStatus::*;
        let day = [
            at(0, Done),
            at(30, InProgress),
            at(60, Scheduled),
            at(90, CheckedIn),
        ];
        let (current, next) = current_and_next(&day, t(40));
        assert_eq!(current, Some(day[1].id));
        assert_eq!(next, Some(day[3].id));
    }

    #[test]
    fn an_appointment_already_over_is_not_next() {
        use AppointmentStatus::*;
        let day = [at(0, Scheduled), at(60, Confirmed), at(120, Cancelled)];
        assert_eq!(current_and_next(&day, t(45)), (None, Some(day[1].id)));
        assert_eq!(current_and_next(&day, t(200)), (None, None));
    }
}
