//! A professional's chat office hours: when patients can expect answers.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::ValidationError;

/// One weekly interval, in the professional's time zone. `weekday` 1 = Monday … 7 = Sunday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklySlot {
    pub weekday: u8,
    /// `HH:MM`
    pub start: String,
    /// `HH:MM`, after `start`.
    pub end: String,
}

/// Stored and exchanged form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfficeHours {
    /// IANA zone, e.g. `America/Sao_Paulo`.
    pub time_zone: String,
    pub weekly: Vec<WeeklySlot>,
    /// Shown to patients outside office hours, e.g. "Respondo em até 1 dia útil".
    #[serde(default)]
    pub note: Option<String>,
}

fn time(s: &str) -> Result<NaiveTime, ValidationError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| ValidationError::new("invalid_office_hours", format!("horário inválido: {s}")))
}

impl OfficeHours {
    /// Validate and normalise input.
    pub fn parse(input: OfficeHours) -> Result<Self, ValidationError> {
        let bad = |m: &str| ValidationError::new("invalid_office_hours", m.to_string());
        input
            .time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| bad("fuso horário desconhecido"))?;
        if input.weekly.len() > 28 {
            return Err(bad("no máximo 28 intervalos por semana"));
        }
        for slot in &input.weekly {
            if !(1..=7).contains(&slot.weekday) {
                return Err(bad("weekday deve ser de 1 (segunda) a 7 (domingo)"));
            }
            if time(&slot.start)? >= time(&slot.end)? {
                return Err(bad("o fim de cada intervalo deve ser depois do início"));
            }
        }
        let note = input
            .note
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() > 200 || n.chars().any(char::is_control))
        {
            return Err(bad(
                "aviso longo demais ou com caracteres inválidos (máximo 200)",
            ));
        }
        Ok(Self { note, ..input })
    }

    /// Whether `at` falls inside one of the weekly intervals.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let Ok(tz) = self.time_zone.parse::<chrono_tz::Tz>() else {
            return true;
        };
        let local = at.with_timezone(&tz);
        let weekday = local.weekday().number_from_monday() as u8;
        let now = local.time();
        self.weekly.iter().any(|s| {
            s.weekday == weekday
                && matches!((time(&s.start), time(&s.end)), (Ok(a), Ok(b)) if a <= now && now < b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn hours() -> OfficeHours {
        OfficeHours::parse(OfficeHours {
            time_zone: "America/Sao_Paulo".into(),
            weekly: vec![WeeklySlot {
                weekday: 1,
                start: "08:00".into(),
                end: "12:00".into(),
            }],
            note: Some(" Respondo em até 1 dia útil ".into()),
        })
        .expect("valid")
    }

    #[test]
    fn open_only_inside_the_weekly_slots_in_the_professionals_zone() {
        let h = hours();
        assert_eq!(h.note.as_deref(), Some("Respondo em até 1 dia útil"));
        // Monday 2026-11-23 10:00 in São Paulo is 13:00 UTC.
        assert!(
            h.is_open(
                Utc.with_ymd_and_hms(2026, 11, 23, 13, 0, 0)
                    .single()
                    .expect("t")
            )
        );
        assert!(
            !h.is_open(
                Utc.with_ymd_and_hms(2026, 11, 23, 16, 0, 0)
                    .single()
                    .expect("t")
            )
        );
        assert!(
            !h.is_open(
                Utc.with_ymd_and_hms(2026, 11, 24, 13, 0, 0)
                    .single()
                    .expect("t")
            )
        );
    }

    #[test]
    fn bad_input_is_rejected() {
        let mut h = hours();
        h.weekly[0].end = "07:00".into();
        assert_eq!(
            OfficeHours::parse(h).expect_err("end before start").code,
            "invalid_office_hours"
        );
        let mut h = hours();
        h.weekly[0].weekday = 8;
        assert!(OfficeHours::parse(h).is_err());
        let mut h = hours();
        h.time_zone = "Mars/Olympus".into();
        assert!(OfficeHours::parse(h).is_err());
    }
}
