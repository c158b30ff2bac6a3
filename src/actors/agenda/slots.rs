//! Free slots as the agenda offers them: the pure rules of `domain::agenda` over what the
//! store knows (hours, exceptions, busy time), and the check a booking must pass.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::actors::EntityDeps;
use crate::actors::protocol::WsError;
use crate::domain::agenda::{Availability, ServiceTiming, free_slots};
use crate::domain::{ClinicId, UserId};
use crate::store::agenda::{AppointmentRow, PATIENT_BUSY, local_midnight};
use crate::store::{self, StoreError};

/// Default length of an appointment booked without a service.
pub const DEFAULT_MINUTES: u32 = 30;

pub(crate) fn conflict(e: StoreError) -> WsError {
    match e {
        StoreError::Conflict(PATIENT_BUSY) => WsError::conflict(
            "patient_busy",
            "o paciente já tem outro compromisso nesse horário",
        ),
        StoreError::Conflict(_) => {
            WsError::conflict("slot_taken", "esse horário acabou de ser ocupado")
        }
        other => other.into(),
    }
}

/// Which slots to compute: one professional and service in one clinic, on local dates
/// [from, to].
#[derive(Clone, Copy)]
pub struct SlotQuery<'a> {
    pub clinic: ClinicId,
    pub tz: chrono_tz::Tz,
    pub pro: UserId,
    pub timing: ServiceTiming,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// An appointment being moved: its own time does not count as taken.
    pub except: Option<&'a AppointmentRow>,
    /// Offered hours only, whatever is booked (to tell "taken" from "never offered").
    pub ignore_busy: bool,
}

/// Free starts as of `now`.
pub async fn slots_for(
    store: &store::Store,
    q: SlotQuery<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<crate::domain::agenda::Slot>, StoreError> {
    let SlotQuery {
        clinic,
        tz,
        pro,
        timing,
        from,
        to,
        except,
        ignore_busy,
    } = q;
    let start = local_midnight(tz, from) - Duration::hours(12);
    let end = local_midnight(tz, to + Duration::days(1)) + Duration::hours(12);
    let hours = store.working_hours(clinic, pro).await?;
    let rules = store.booking_rules(clinic, pro).await?;
    let exceptions: Vec<_> = store
        .exceptions_between(clinic, Some(pro), start, end)
        .await?
        .iter()
        .map(|e| e.exception())
        .collect();
    let mut busy = store.busy_blocks(pro, start, end).await?;
    let mut starts = store.clinic_booking_starts(clinic, pro, start, end).await?;
    if let Some(a) = except {
        busy.retain(|b| !(b.start == a.block_start && b.end == a.block_end));
        starts.retain(|s| *s != a.starts_at);
    }
    if ignore_busy {
        busy.clear();
    }
    let per_day = |d: NaiveDate| {
        starts
            .iter()
            .filter(|s| s.with_timezone(&tz).date_naive() == d)
            .count() as u32
    };
    let a = Availability {
        tz: &tz,
        hours: &hours,
        exceptions: &exceptions,
        busy: &busy,
        booked_per_day: &per_day,
        rules,
    };
    Ok(free_slots(&a, timing, from, to, now))
}

pub(crate) async fn require_free_slot(
    deps: &EntityDeps,
    clinic: ClinicId,
    tz: chrono_tz::Tz,
    pro: UserId,
    timing: ServiceTiming,
    starts_at: DateTime<Utc>,
    except: Option<&AppointmentRow>,
) -> Result<(), WsError> {
    let day = starts_at.with_timezone(&tz).date_naive();
    let now = deps.clock.now();
    let offered =
        |slots: Vec<crate::domain::agenda::Slot>| slots.iter().any(|s| s.starts_at == starts_at);
    let mut q = SlotQuery {
        clinic,
        tz,
        pro,
        timing,
        from: day,
        to: day,
        except,
        ignore_busy: false,
    };
    if offered(slots_for(&deps.store, q, now).await?) {
        return Ok(());
    }
    // Within the offered hours but taken by someone: the same answer a race gets.
    q.ignore_busy = true;
    let open = slots_for(&deps.store, q, now).await?;
    if offered(open) {
        return Err(WsError::conflict(
            "slot_taken",
            "esse horário acabou de ser ocupado",
        ));
    }
    Err(WsError::new(
        "slot_unavailable",
        "esse horário não está disponível para agendamento",
    ))
}
