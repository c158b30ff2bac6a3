//! A week that looks like a real clinic's, for `atende serve --demo` (not for the test
//! seed, whose tests count on an agenda they fill themselves): more patients in each
//! clinic; Dra. Helena's teleconsultations for Boa Vista early in the morning (Recife) and
//! her in-person consultations in Aurora (São Paulo) every day from three days ago to
//! three days ahead, Dr. Rafael's in Aurora; the past attended or missed, some cancelled;
//! and today's waiting room in motion (someone in service, someone called, people
//! waiting). Every time is relative to now in each clinic's zone: the demo looks alive
//! whatever the day and hour it starts.

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use chrono_tz::Tz;

use crate::actors::agenda::{Book, Change, Modify, Record};
use crate::actors::queue::{Act, CallNext, CheckIn};
use crate::app::agenda::visit::advance_visit;
use crate::app::error::AppError;
use crate::app::patients::{NewPatientRequest, register_with_clinic};
use crate::app::queue::sync_appointment;
use crate::app::state::AppState;
use crate::domain::agenda::AppointmentStatus;
use crate::domain::queue::{Priority, QueueAction};
use crate::domain::{ClinicId, PatientId, UserId};
use crate::security::audit::AuditEvent;
use crate::store;
use crate::store::agenda::ServiceRow;

/// Days before and after today that get appointments.
const DAYS_AROUND: i64 = 3;

/// Aurora's patients of the week (name, birth date).
const AURORA_PATIENTS: &[(&str, &str)] = &[
    ("Carla Mendes Oliveira", "1984-02-11"),
    ("Pedro Henrique Alves", "1976-09-23"),
    ("Luiza Ferreira Campos", "1999-05-07"),
    ("Roberto Tavares Nunes", "1952-12-01"),
    ("Sônia Maria Rocha", "1948-07-19"),
    ("Tiago Bezerra Lopes", "1990-03-30"),
    ("Fernanda Yamamoto", "1987-10-14"),
    ("Gustavo Pires Moreira", "2001-01-25"),
];

/// Boa Vista's patients of the week.
const BOAVISTA_PATIENTS: &[(&str, &str)] = &[
    ("Josefa Cavalcanti Silva", "1955-04-02"),
    ("Antônio Carlos Barros", "1969-08-17"),
    ("Mariana Lins Albuquerque", "1993-11-09"),
    ("Edvaldo Santos Souza", "1979-06-28"),
];

/// Local start times of each professional's appointments on a day, per clinic.
const HELENA_BOAVISTA: &[(u32, u32)] = &[(7, 0), (7, 30)];
const HELENA_AURORA: &[(u32, u32)] = &[
    (9, 0),
    (9, 30),
    (10, 30),
    (11, 0),
    (15, 30),
    (16, 30),
    (17, 0),
];
const RAFAEL_AURORA: &[(u32, u32)] = &[(9, 0), (10, 0), (11, 0), (13, 0), (15, 0), (16, 0)];

/// A valid CPF made from `n` (demo records only; the range is far from real-looking ones
/// typed by hand in the demo).
fn cpf_for(n: u32) -> String {
    let base = format!("{:09}", 700_000_000 + n);
    let mut d: Vec<u32> = base.bytes().map(|b| u32::from(b - b'0')).collect();
    for _ in 0..2 {
        let len = d.len() as u32;
        let sum: u32 = d
            .iter()
            .enumerate()
            .map(|(i, x)| x * (len + 1 - i as u32))
            .sum();
        let r = (sum * 10) % 11;
        d.push(if r == 10 { 0 } else { r });
    }
    d.iter().filter_map(|x| char::from_digit(*x, 10)).collect()
}

fn local(tz: Tz, day: NaiveDate, h: u32, m: u32) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&day.and_hms_opt(h, m, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// One professional's appointments in one clinic over the week.
struct Plan<'a> {
    clinic: ClinicId,
    tz: Tz,
    professional: UserId,
    service: &'a ServiceRow,
    kind: &'static str,
    times: &'a [(u32, u32)],
    patients: &'a [PatientId],
}

/// Book the week and move it: the past attended (one in five missed, one in seven
/// cancelled), what is ahead scheduled or confirmed. Returns today's appointments still
/// ahead, in time order (for the waiting room).
async fn book_week(
    state: &AppState,
    plan: &Plan<'_>,
) -> Result<Vec<(uuid::Uuid, PatientId)>, AppError> {
    let now = state.clock.now();
    let today = now.with_timezone(&plan.tz).date_naive();
    let mut ahead_today = Vec::new();
    let mut n = 0usize;
    for offset in -DAYS_AROUND..=DAYS_AROUND {
        let day = today + Duration::days(offset);
        for (i, (h, m)) in plan.times.iter().enumerate() {
            // A lighter agenda away from today: every other time.
            if offset != 0 && (i + offset.unsigned_abs() as usize) % 2 == 1 {
                continue;
            }
            let Some(starts_at) = local(plan.tz, day, *h, *m) else {
                continue;
            };
            n += 1;
            let Some(patient) = plan.patients.get(n % plan.patients.len().max(1)).copied() else {
                continue;
            };
            let ended =
                starts_at + Duration::minutes(i64::from(plan.service.duration_minutes)) <= now;
            let status = if !ended && n.is_multiple_of(2) {
                AppointmentStatus::Confirmed
            } else {
                AppointmentStatus::Scheduled
            };
            let booked = state
                .registry
                .agenda(plan.clinic)
                .send(Book {
                    by: None,
                    professional: plan.professional,
                    patient,
                    service: Some(plan.service.clone()),
                    duration_minutes: u32::try_from(plan.service.duration_minutes).unwrap_or(30),
                    starts_at,
                    kind: plan.kind.into(),
                    notes: String::new(),
                    require_free_slot: false,
                    // Confirmed bookings send no "booked" message: the demo's past and
                    // future are not news to anyone.
                    status: if ended {
                        AppointmentStatus::Confirmed
                    } else {
                        status
                    },
                    hold_expires_at: None,
                    new_patient: None,
                    record: Record::default(),
                    quota: None,
                })
                .await
                .map_err(|_| AppError::Unavailable)?;
            // A time already taken (the seed's own appointments today): skip it.
            let Ok((a, _)) = booked else { continue };
            if !ended {
                if offset == 0 {
                    ahead_today.push((a.id, patient));
                }
                continue;
            }
            let change = if n.is_multiple_of(7) {
                Some(Change::Cancel {
                    reason: "Paciente desmarcou por telefone".into(),
                })
            } else if n.is_multiple_of(5) {
                Some(Change::Status(AppointmentStatus::NoShow))
            } else {
                None
            };
            match change {
                Some(change) => {
                    let _ = state
                        .registry
                        .agenda(plan.clinic)
                        .send(Modify {
                            id: a.id,
                            change,
                            record: Record::default(),
                        })
                        .await;
                }
                None => advance_visit(state, a.id, AppointmentStatus::Done).await,
            }
        }
    }
    Ok(ahead_today)
}

/// Today's waiting room in Aurora: the next appointment of each professional checked in,
/// three walk-ins for Rafael, Rafael with one patient in service and Helena with one called.
async fn queue_in_motion(
    state: &AppState,
    clinic: ClinicId,
    (helena, rafael): (UserId, UserId),
    arrivals: &[(uuid::Uuid, PatientId, String)],
) -> Result<(), AppError> {
    let queue = state.registry.queue(clinic);
    let mut entries = Vec::new();
    for (appointment, patient, name) in arrivals {
        let starts_at = state
            .store
            .appointment_view(*appointment)
            .await?
            .map(|v| v.a.starts_at)
            .unwrap_or_else(|| state.clock.now());
        let checked = queue
            .send(CheckIn {
                patient_id: Some(*patient),
                full_name: name.clone(),
                professional_user_id: None,
                priority: Priority::None,
                appointment: Some((*appointment, starts_at)),
                reuse_active: false,
                audit: None,
            })
            .await
            .map_err(|_| AppError::Unavailable)?;
        if let Ok((entry, _)) = checked {
            sync_appointment(state, &entry, QueueAction::CheckIn).await;
            entries.push(entry);
        }
    }
    for (name, priority) in [
        ("Irene Batista", Priority::None),
        ("Osvaldo Queiroz", Priority::Disability),
        ("Débora Fontes", Priority::Pregnant),
    ] {
        let _ = queue
            .send(CheckIn {
                patient_id: None,
                full_name: name.into(),
                professional_user_id: Some(rafael),
                priority,
                appointment: None,
                reuse_active: false,
                audit: None,
            })
            .await
            .map_err(|_| AppError::Unavailable)?;
    }
    // Rafael's first patient is in service; Helena has called hers to her room.
    for (who, room, start) in [
        (rafael, "Consultório 2", true),
        (helena, "Consultório 1", false),
    ] {
        let called = queue
            .send(CallNext {
                by: who,
                professional: who,
                room: room.into(),
                entry: None,
                audit: AuditEvent::new(Some(who), "queue.call", "queue_entry").clinic(clinic),
            })
            .await
            .map_err(|_| AppError::Unavailable)?;
        let Ok(called) = called else { continue };
        if !start {
            continue;
        }
        if let Ok(Ok(entry)) = queue
            .send(Act {
                entry: called.entry.id,
                action: QueueAction::Start,
                to: None,
                audit: AuditEvent::new(Some(who), "queue.start", "queue_entry").clinic(clinic),
            })
            .await
        {
            sync_appointment(state, &entry, QueueAction::Start).await;
        }
    }
    Ok(())
}

/// Register `list` with `clinic`, CPFs from `first`.
async fn patients(
    state: &AppState,
    clinic: ClinicId,
    list: &[(&str, &str)],
    first: u32,
) -> Result<Vec<(PatientId, String)>, AppError> {
    let mut out = Vec::new();
    for (i, (name, birth)) in list.iter().enumerate() {
        let p = register_with_clinic(
            state,
            None,
            clinic,
            &NewPatientRequest {
                full_name: (*name).into(),
                social_name: None,
                cpf: cpf_for(first + i as u32),
                birth_date: (*birth).into(),
                phone: Some(format!("(11) 9{:04}-{:04}", 3100 + i, 2200 + i)),
                email: None,
                address: None,
                allergies: None,
                notes: Some("Paciente de demonstração.".into()),
            },
        )
        .await?;
        out.push((p.identity.id, (*name).into()));
    }
    Ok(out)
}

/// The week, on top of the seed (see the module's documentation), for the two clinics and
/// their professionals (Helena in both, Rafael in Aurora).
pub async fn seed_week(
    state: &AppState,
    (aurora, boavista): (ClinicId, ClinicId),
    (helena, rafael): (UserId, UserId),
) -> Result<(), AppError> {
    let find = |list: &[ServiceRow], pro: UserId, tele: bool| {
        list.iter()
            .find(|s| s.professional_user_id == Some(pro) && s.teleconsultation == tele)
            .cloned()
            .ok_or(AppError::NotFound)
    };
    let aurora_services = state.store.services_of_clinic(aurora).await?;
    let helena_aurora = find(&aurora_services, helena, false)?;
    let rafael_aurora = find(&aurora_services, rafael, false)?;
    // Helena sees Boa Vista's patients by video on weekday mornings.
    let tele = ServiceRow {
        id: uuid::Uuid::now_v7(),
        clinic_id: boavista,
        professional_user_id: Some(helena),
        name: "Teleconsulta".into(),
        duration_minutes: 30,
        price_cents: 22000,
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
        teleconsultation: true,
        active: true,
        created_at: store::now(),
    };
    state.store.insert_service(&tele).await?;

    let aurora_people = patients(state, aurora, AURORA_PATIENTS, 1).await?;
    let boavista_people = patients(state, boavista, BOAVISTA_PATIENTS, 101).await?;
    let ids = |v: &[(PatientId, String)]| v.iter().map(|(id, _)| *id).collect::<Vec<_>>();
    let (aurora_ids, boavista_ids) = (ids(&aurora_people), ids(&boavista_people));
    let sao_paulo = chrono_tz::America::Sao_Paulo;
    book_week(
        state,
        &Plan {
            clinic: boavista,
            tz: chrono_tz::America::Recife,
            professional: helena,
            service: &tele,
            kind: "teleconsultation",
            times: HELENA_BOAVISTA,
            patients: &boavista_ids,
        },
    )
    .await?;
    let helena_today = book_week(
        state,
        &Plan {
            clinic: aurora,
            tz: sao_paulo,
            professional: helena,
            service: &helena_aurora,
            kind: "in_person",
            times: HELENA_AURORA,
            patients: &aurora_ids[..aurora_ids.len() / 2],
        },
    )
    .await?;
    let rafael_today = book_week(
        state,
        &Plan {
            clinic: aurora,
            tz: sao_paulo,
            professional: rafael,
            service: &rafael_aurora,
            kind: "in_person",
            times: RAFAEL_AURORA,
            patients: &aurora_ids[aurora_ids.len() / 2..],
        },
    )
    .await?;
    // The first patient still expected today by each professional has arrived.
    let name_of = |p: PatientId| {
        aurora_people
            .iter()
            .find(|(id, _)| *id == p)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let arrivals: Vec<_> = helena_today
        .iter()
        .take(1)
        .chain(rafael_today.iter().take(1))
        .map(|(a, p)| (*a, *p, name_of(*p)))
        .collect();
    queue_in_motion(state, aurora, (helena, rafael), &arrivals).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_cpfs_are_valid() {
        for n in [1, 2, 101, 104] {
            let cpf = cpf_for(n);
            assert!(
                crate::domain::documents_br::Cpf::parse(&cpf).is_ok(),
                "{cpf}"
            );
        }
    }
}
