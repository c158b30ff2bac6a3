//! Agenda rules: when a professional can be booked. Working hours are weekly and in the
//! clinic's local time (Brazil spans four zones); everything stored and compared is UTC.
//! `free_slots` is pure so every rule is tested without a database.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::ValidationError;

pub mod attendance;
pub mod status;
pub use status::{AppointmentStatus, OfferStatus, WaitlistStatus};

/// A half-open interval of UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Span {
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// One stretch of weekly working time, local to the clinic. `weekday` 0 is Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkingHours {
    pub weekday: u8,
    #[schema(value_type = String, example = "08:00")]
    pub start: NaiveTime,
    #[schema(value_type = String, example = "12:00")]
    pub end: NaiveTime,
}

/// Parse `HH:MM` (`24:00` allowed as the end of a day).
pub fn parse_hhmm(s: &str) -> Result<NaiveTime, ValidationError> {
    let bad = || ValidationError::new("invalid_time", format!("horário inválido: {s} (use HH:MM)"));
    if s == "24:00" {
        return NaiveTime::from_hms_opt(23, 59, 59).ok_or_else(bad);
    }
    NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| bad())
}

pub fn format_hhmm(t: NaiveTime) -> String {
    if t == NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default() {
        return "24:00".into();
    }
    t.format("%H:%M").to_string()
}

impl WorkingHours {
    pub fn new(weekday: i64, start: &str, end: &str) -> Result<Self, ValidationError> {
        if !(0..=6).contains(&weekday) {
            return Err(ValidationError::new(
                "invalid_weekday",
                "dia da semana de 0 (segunda) a 6 (domingo)",
            ));
        }
        let (start, end) = (parse_hhmm(start)?, parse_hhmm(end)?);
        if start >= end {
            return Err(ValidationError::new(
                "invalid_hours",
                "o início deve ser antes do fim",
            ));
        }
        Ok(Self {
            weekday: weekday as u8,
            start,
            end,
        })
    }
}

/// Reject a week whose stretches overlap on the same day.
pub fn check_week(hours: &[WorkingHours]) -> Result<(), ValidationError> {
    for (i, a) in hours.iter().enumerate() {
        for b in &hours[i + 1..] {
            if a.weekday == b.weekday && a.start < b.end && b.start < a.end {
                return Err(ValidationError::new(
                    "overlapping_hours",
                    "há horários sobrepostos no mesmo dia",
                ));
            }
        }
    }
    Ok(())
}

/// A professional's booking rules in one clinic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BookingRules {
    /// Bookings must start at least this long from now.
    pub min_notice_minutes: u32,
    /// How far ahead patients may book.
    pub booking_window_days: u32,
    /// Appointments per day at most (in this clinic).
    pub daily_limit: Option<u32>,
    /// Slots start every this many minutes from the start of each working stretch.
    pub slot_step_minutes: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            min_notice_minutes: 120,
            booking_window_days: 60,
            daily_limit: None,
            slot_step_minutes: 15,
        }
    }
}

impl BookingRules {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let bad = |code: &'static str, m: &str| Err(ValidationError::new(code, m));
        if self.min_notice_minutes > 60 * 24 * 30 {
            return bad("invalid_notice", "antecedência mínima de até 30 dias");
        }
        if !(1..=365).contains(&self.booking_window_days) {
            return bad("invalid_window", "janela de agendamento de 1 a 365 dias");
        }
        if self.daily_limit.is_some_and(|l| !(1..=200).contains(&l)) {
            return bad("invalid_daily_limit", "limite diário de 1 a 200");
        }
        if ![5, 10, 15, 20, 30, 60].contains(&self.slot_step_minutes) {
            return bad(
                "invalid_step",
                "intervalo entre horários: 5, 10, 15, 20, 30 ou 60 minutos",
            );
        }
        Ok(())
    }
}

/// How long an appointment takes and the professional's time around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceTiming {
    pub duration_minutes: u32,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
}

impl ServiceTiming {
    /// The professional's time taken by an appointment at `start`: buffers included.
    pub fn block(&self, start: DateTime<Utc>) -> Span {
        Span {
            start: start - Duration::minutes(i64::from(self.buffer_before_minutes)),
            end: start
                + Duration::minutes(i64::from(self.duration_minutes + self.buffer_after_minutes)),
        }
    }

    pub fn end(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        start + Duration::minutes(i64::from(self.duration_minutes))
    }
}

/// An exception to the weekly hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    /// Holiday, vacation: no booking inside.
    Closed(Span),
    /// Extra hours: bookable even outside the weekly hours.
    Extra(Span),
}

/// Everything `free_slots` needs about one professional in one clinic.
pub struct Availability<'a, Tz: TimeZone> {
    pub tz: &'a Tz,
    pub hours: &'a [WorkingHours],
    pub exceptions: &'a [Exception],
    /// Time already taken (blocks of the professional's appointments in every clinic).
    pub busy: &'a [Span],
    /// Appointments already on each local date in this clinic (daily limit).
    pub booked_per_day: &'a dyn Fn(NaiveDate) -> u32,
    pub rules: BookingRules,
}

/// A bookable start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

fn local_to_utc<Tz: TimeZone>(tz: &Tz, date: NaiveDate, t: NaiveTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&date.and_time(t))
        .earliest()
        .map(|d| d.with_timezone(&Utc))
}

/// Minutes a professional is open on one local date (weekly hours plus extra hours, minus
/// closures): what an agenda offers that day, for its occupancy.
pub fn open_minutes<Tz: TimeZone>(
    tz: &Tz,
    hours: &[WorkingHours],
    exceptions: &[Exception],
    date: NaiveDate,
) -> i64 {
    open_spans(tz, hours, exceptions, date)
        .iter()
        .map(|s| (s.end - s.start).num_minutes())
        .sum()
}

/// Open intervals of one local date: weekly hours plus extra hours, minus closures.
fn open_spans<Tz: TimeZone>(
    tz: &Tz,
    hours: &[WorkingHours],
    exceptions: &[Exception],
    date: NaiveDate,
) -> Vec<Span> {
    let wd = date.weekday().num_days_from_monday() as u8;
    let day_start = local_to_utc(tz, date, NaiveTime::MIN);
    let day_end = date
        .succ_opt()
        .and_then(|next| local_to_utc(tz, next, NaiveTime::MIN));
    let mut spans: Vec<Span> = hours
        .iter()
        .filter(|h| h.weekday == wd)
        .filter_map(|h| {
            Some(Span {
                start: local_to_utc(tz, date, h.start)?,
                end: local_to_utc(tz, date, h.end)?,
            })
        })
        .collect();
    if let (Some(ds), Some(de)) = (day_start, day_end) {
        for e in exceptions {
            if let Exception::Extra(s) = e {
                let clipped = Span {
                    start: s.start.max(ds),
                    end: s.end.min(de),
                };
                if clipped.start < clipped.end {
                    spans.push(clipped);
                }
            }
        }
    }
    // Merge, then cut out closures.
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<Span> = Vec::new();
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    for e in exceptions {
        if let Exception::Closed(c) = e {
            merged = merged
                .into_iter()
                .flat_map(|s| {
                    if !s.overlaps(c) {
                        return vec![s];
                    }
                    let mut parts = Vec::new();
                    if s.start < c.start {
                        parts.push(Span {
                            start: s.start,
                            end: c.start,
                        });
                    }
                    if c.end < s.end {
                        parts.push(Span {
                            start: c.end,
                            end: s.end,
                        });
                    }
                    parts
                })
                .collect();
        }
    }
    merged
}

/// Bookable starts for a service between two local dates (inclusive), as of `now`.
pub fn free_slots<Tz: TimeZone>(
    a: &Availability<'_, Tz>,
    timing: ServiceTiming,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<Slot> {
    let today = now.with_timezone(a.tz).date_naive();
    let last_day = today + Duration::days(i64::from(a.rules.booking_window_days));
    let earliest = now + Duration::minutes(i64::from(a.rules.min_notice_minutes));
    let step = Duration::minutes(i64::from(a.rules.slot_step_minutes.max(1)));
    let length = Duration::minutes(i64::from(timing.duration_minutes));
    let mut out = Vec::new();
    let mut date = from.max(today);
    while date <= to.min(last_day) {
        if a.rules
            .daily_limit
            .is_none_or(|limit| (a.booked_per_day)(date) < limit)
        {
            for open in open_spans(a.tz, a.hours, a.exceptions, date) {
                let mut start = open.start;
                while start + length <= open.end {
                    let block = timing.block(start);
                    if start >= earliest && !a.busy.iter().any(|b| b.overlaps(&block)) {
                        out.push(Slot {
                            starts_at: start,
                            ends_at: start + length,
                        });
                    }
                    start += step;
                }
            }
        }
        date += Duration::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("rfc3339")
    }

    const CONSULTA: ServiceTiming = ServiceTiming {
        duration_minutes: 30,
        buffer_before_minutes: 0,
        buffer_after_minutes: 0,
    };

    fn rules() -> BookingRules {
        BookingRules {
            min_notice_minutes: 0,
            booking_window_days: 30,
            daily_limit: None,
            slot_step_minutes: 30,
        }
    }

    fn starts(slots: &[Slot]) -> Vec<String> {
        slots
            .iter()
            .map(|s| s.starts_at.format("%d %H:%M").to_string())
            .collect()
    }

    /// Monday 2026-11-23, São Paulo (UTC-3): 08:00–10:00 and 13:00–14:00 local.
    fn week() -> Vec<WorkingHours> {
        vec![
            WorkingHours::new(0, "08:00", "10:00").expect("ok"),
            WorkingHours::new(0, "13:00", "14:00").expect("ok"),
        ]
    }

    #[test]
    fn hours_are_local_to_the_clinic_and_breaks_are_gaps() {
        let hours = week();
        let none = |_: NaiveDate| 0;
        let a = Availability {
            tz: &chrono_tz::America::Sao_Paulo,
            hours: &hours,
            exceptions: &[],
            busy: &[],
            booked_per_day: &none,
            rules: rules(),
        };
        let slots = free_slots(
            &a,
            CONSULTA,
            d(2026, 11, 23),
            d(2026, 11, 23),
            utc("2026-11-20T00:00:00Z"),
        );
        assert_eq!(
            starts(&slots),
            vec![
                "23 11:00", "23 11:30", "23 12:00", "23 12:30", "23 16:00", "23 16:30"
            ]
        );
        // The same hours in Manaus (UTC-4) start an hour later in UTC.
        let a = Availability {
            tz: &chrono_tz::America::Manaus,
            ..a
        };
        let slots = free_slots(
            &a,
            CONSULTA,
            d(2026, 11, 23),
            d(2026, 11, 23),
            utc("2026-11-20T00:00:00Z"),
        );
        assert_eq!(starts(&slots)[0], "23 12:00");
    }

    #[test]
    fn buffers_notice_window_busy_time_and_daily_limits() {
        let hours = week();
        let none = |_: NaiveDate| 0;
        // A booking 08:30–09:00 local (11:30–12:00 UTC).
        let busy = [Span {
            start: utc("2026-11-23T11:30:00Z"),
            end: utc("2026-11-23T12:00:00Z"),
        }];
        let a = Availability {
            tz: &chrono_tz::America::Sao_Paulo,
            hours: &hours,
            exceptions: &[],
            busy: &busy,
            booked_per_day: &none,
            rules: rules(),
        };
        let day = d(2026, 11, 23);
        let early = utc("2026-11-20T00:00:00Z");
        assert_eq!(
            starts(&free_slots(&a, CONSULTA, day, day, early)),
            vec!["23 11:00", "23 12:00", "23 12:30", "23 16:00", "23 16:30"]
        );
        // A 10-minute buffer after each appointment: 08:00 would run into 08:30.
        let buffered = ServiceTiming {
            buffer_after_minutes: 10,
            ..CONSULTA
        };
        assert_eq!(
            starts(&free_slots(&a, buffered, day, day, early)),
            vec!["23 12:00", "23 12:30", "23 16:00", "23 16:30"]
        );
        // Two hours' notice at 08:00 local: only the afternoon is left.
        let a2 = Availability {
            rules: BookingRules {
                min_notice_minutes: 120,
                ..rules()
            },
            ..a
        };
        assert_eq!(
            starts(&free_slots(
                &a2,
                CONSULTA,
                day,
                day,
                utc("2026-11-23T11:00:00Z")
            )),
            vec!["23 16:00", "23 16:30"]
        );
        // Outside the booking window: nothing.
        let a3 = Availability {
            rules: BookingRules {
                booking_window_days: 2,
                ..rules()
            },
            ..a
        };
        assert!(free_slots(&a3, CONSULTA, day, day, early).is_empty());
        // Daily limit reached.
        let one = |_: NaiveDate| 1;
        let a4 = Availability {
            booked_per_day: &one,
            rules: BookingRules {
                daily_limit: Some(1),
                ..rules()
            },
            ..a
        };
        assert!(free_slots(&a4, CONSULTA, day, day, early).is_empty());
    }

    #[test]
    fn holidays_close_and_extra_hours_open() {
        let hours = week();
        let none = |_: NaiveDate| 0;
        let exceptions = [
            // Closed the whole Monday morning (local 08:00–12:00).
            Exception::Closed(Span {
                start: utc("2026-11-23T11:00:00Z"),
                end: utc("2026-11-23T15:00:00Z"),
            }),
            // Extra hours on Saturday 28th, 09:00–10:00 local.
            Exception::Extra(Span {
                start: utc("2026-11-28T12:00:00Z"),
                end: utc("2026-11-28T13:00:00Z"),
            }),
        ];
        let a = Availability {
            tz: &chrono_tz::America::Sao_Paulo,
            hours: &hours,
            exceptions: &exceptions,
            busy: &[],
            booked_per_day: &none,
            rules: rules(),
        };
        let slots = free_slots(
            &a,
            CONSULTA,
            d(2026, 11, 23),
            d(2026, 11, 28),
            utc("2026-11-20T00:00:00Z"),
        );
        assert_eq!(
            starts(&slots),
            vec!["23 16:00", "23 16:30", "28 12:00", "28 12:30"]
        );
    }

    #[test]
    fn bad_hours_are_refused() {
        assert_eq!(
            WorkingHours::new(7, "08:00", "09:00").expect_err("x").code,
            "invalid_weekday"
        );
        assert_eq!(
            WorkingHours::new(0, "09:00", "08:00").expect_err("x").code,
            "invalid_hours"
        );
        assert_eq!(
            WorkingHours::new(0, "8h", "09:00").expect_err("x").code,
            "invalid_time"
        );
        let overlapping = [
            WorkingHours::new(1, "08:00", "12:00").expect("ok"),
            WorkingHours::new(1, "11:00", "13:00").expect("ok"),
        ];
        assert_eq!(
            check_week(&overlapping).expect_err("x").code,
            "overlapping_hours"
        );
        assert!(
            BookingRules {
                slot_step_minutes: 7,
                ..BookingRules::default()
            }
            .validate()
            .is_err()
        );
    }
}
