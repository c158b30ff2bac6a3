//! When an appointment's reminders go out: a clinic's offsets before the start (24 h and
//! 2 h by default), never during its quiet hours (21:00–08:00 in its zone by default) — a
//! reminder that falls in them waits for their end, unless the appointment starts before
//! then, in which case it keeps its time (a late reminder would be no reminder at all).

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::ValidationError;

/// Longest offset a clinic may choose (3 days), which bounds the workers' look-ahead.
pub const MAX_OFFSET_MINUTES: u32 = 72 * 60;

/// A clinic's reminder rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRules {
    pub enabled: bool,
    /// Minutes before the start, largest first, no duplicates.
    pub offsets: Vec<u32>,
    pub quiet_start: NaiveTime,
    pub quiet_end: NaiveTime,
}

impl Default for ReminderRules {
    fn default() -> Self {
        Self {
            enabled: true,
            offsets: vec![24 * 60, 120],
            quiet_start: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
            quiet_end: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
        }
    }
}

fn invalid(message: &str) -> ValidationError {
    ValidationError::new("invalid_reminders", message.to_string())
}

/// `HH:MM`.
pub fn parse_time(s: &str) -> Result<NaiveTime, ValidationError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| invalid("horário inválido: use HH:MM"))
}

impl ReminderRules {
    /// Rules from their stored or submitted parts.
    pub fn parse(
        enabled: bool,
        offsets: &[u32],
        quiet_start: &str,
        quiet_end: &str,
    ) -> Result<Self, ValidationError> {
        let mut o: Vec<u32> = offsets.to_vec();
        if o.len() > 5 {
            return Err(invalid("no máximo 5 lembretes por consulta"));
        }
        if o.iter().any(|m| *m == 0 || *m > MAX_OFFSET_MINUTES) {
            return Err(invalid(
                "cada lembrete vai de 1 minuto a 72 horas antes da consulta",
            ));
        }
        o.sort_unstable_by(|a, b| b.cmp(a));
        o.dedup();
        Ok(Self {
            enabled,
            offsets: o,
            quiet_start: parse_time(quiet_start)?,
            quiet_end: parse_time(quiet_end)?,
        })
    }

    /// `"1440,120"` as stored.
    pub fn offsets_text(&self) -> String {
        self.offsets
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The stored offsets text read back (unparsable parts are skipped).
    pub fn offsets_from_text(s: &str) -> Vec<u32> {
        s.split(',').filter_map(|p| p.trim().parse().ok()).collect()
    }

    fn is_quiet(&self, t: NaiveTime) -> bool {
        if self.quiet_start == self.quiet_end {
            false
        } else if self.quiet_start < self.quiet_end {
            self.quiet_start <= t && t < self.quiet_end
        } else {
            t >= self.quiet_start || t < self.quiet_end
        }
    }

    /// When the reminder `offset` minutes before `starts_at` goes out.
    pub fn due_at(&self, starts_at: DateTime<Utc>, offset: u32, tz: Tz) -> DateTime<Utc> {
        let due = starts_at - Duration::minutes(i64::from(offset));
        let local = due.with_timezone(&tz);
        if !self.is_quiet(local.time()) {
            return due;
        }
        let mut day = local.date_naive();
        if local.time() >= self.quiet_end {
            day += Duration::days(1);
        }
        let end = tz
            .from_local_datetime(&day.and_time(self.quiet_end))
            .earliest()
            .map(|t| t.with_timezone(&Utc));
        match end {
            Some(end) if end < starts_at => end,
            _ => due,
        }
    }

    /// The reminder to send at `now` for an appointment starting at `starts_at`, booked
    /// (or last changed) at `booked_at`: the most recent one already due, if it fell due
    /// after the booking and the appointment has not started. Earlier ones it supersedes
    /// are returned too, so they are recorded as done and never sent late.
    pub fn due_now(
        &self,
        starts_at: DateTime<Utc>,
        booked_at: DateTime<Utc>,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Option<(u32, Vec<u32>)> {
        if !self.enabled || starts_at <= now {
            return None;
        }
        let due: Vec<u32> = self
            .offsets
            .iter()
            .copied()
            .filter(|o| self.due_at(starts_at, *o, tz) <= now)
            .collect();
        let latest = *due.last()?;
        if self.due_at(starts_at, latest, tz) < booked_at {
            return None;
        }
        Some((latest, due))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SP: Tz = chrono_tz::America::Sao_Paulo;

    fn local(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        SP.with_ymd_and_hms(2026, 12, d, h, m, 0)
            .single()
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn defaults_are_a_day_and_two_hours_before_outside_quiet_hours() {
        let r = ReminderRules::default();
        let start = local(10, 14, 0);
        assert_eq!(r.due_at(start, 1440, SP), local(9, 14, 0));
        assert_eq!(r.due_at(start, 120, SP), local(10, 12, 0));
    }

    #[test]
    fn a_reminder_in_quiet_hours_waits_for_their_end_unless_the_appointment_is_earlier() {
        let r = ReminderRules::default();
        // 08:30 - 2 h = 06:30, quiet: sent at 08:00.
        assert_eq!(r.due_at(local(10, 8, 30), 120, SP), local(10, 8, 0));
        // 23:00 the day before 22:30 (24 h): waits until 08:00 next morning.
        assert_eq!(r.due_at(local(11, 22, 30), 1440, SP), local(11, 8, 0));
        // 07:00 appointment: 05:00 keeps its time (08:00 would be after the start).
        assert_eq!(r.due_at(local(10, 7, 0), 120, SP), local(10, 5, 0));
    }

    #[test]
    fn only_the_latest_due_reminder_goes_and_none_for_started_or_fresh_bookings() {
        let r = ReminderRules::default();
        let start = local(10, 14, 0);
        let booked = local(1, 9, 0);
        assert_eq!(r.due_now(start, booked, local(9, 13, 59), SP), None);
        assert_eq!(
            r.due_now(start, booked, local(9, 14, 0), SP),
            Some((1440, vec![1440]))
        );
        assert_eq!(
            r.due_now(start, booked, local(10, 12, 30), SP),
            Some((120, vec![1440, 120]))
        );
        assert_eq!(r.due_now(start, booked, local(10, 14, 0), SP), None);
        // Booked 3 h before: the 2 h reminder only, once due.
        assert_eq!(
            r.due_now(start, local(10, 11, 0), local(10, 11, 30), SP),
            None
        );
        assert_eq!(
            r.due_now(start, local(10, 11, 0), local(10, 12, 0), SP),
            Some((120, vec![1440, 120]))
        );
        let off = ReminderRules {
            enabled: false,
            ..ReminderRules::default()
        };
        assert_eq!(off.due_now(start, booked, local(10, 12, 30), SP), None);
    }

    #[test]
    fn rules_are_checked() {
        assert!(ReminderRules::parse(true, &[0], "21:00", "08:00").is_err());
        assert!(ReminderRules::parse(true, &[5000], "21:00", "08:00").is_err());
        assert!(ReminderRules::parse(true, &[60], "25:00", "08:00").is_err());
        let r = ReminderRules::parse(true, &[120, 1440, 120], "22:00", "07:30").expect("ok");
        assert_eq!(r.offsets, vec![1440, 120]);
        assert_eq!(r.offsets_text(), "1440,120");
    }
}
