//! Waiting-room rules: legal priority (Lei 10.048/2000; Estatuto da Pessoa Idosa, with 80+
//! ahead of 60+), ticket prefixes, and the order patients are called in.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::ValidationError;

/// Why someone is attended first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    None,
    /// 60 or older.
    Elderly,
    /// 80 or older: ahead of every other priority (Lei 13.466/2017).
    Elderly80,
    Pregnant,
    Breastfeeding,
    Disability,
    /// Accompanied by an infant (criança de colo).
    Infant,
}

impl Priority {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map_err(|_| ValidationError::new("invalid_priority", "prioridade desconhecida"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Elderly => "elderly",
            Priority::Elderly80 => "elderly_80",
            Priority::Pregnant => "pregnant",
            Priority::Breastfeeding => "breastfeeding",
            Priority::Disability => "disability",
            Priority::Infant => "infant",
        }
    }

    /// Lower is called first: 80+ (0), other legal priorities (1), everyone else (2).
    pub fn rank(self) -> i32 {
        match self {
            Priority::Elderly80 => 0,
            Priority::None => 2,
            _ => 1,
        }
    }

    /// Ticket prefix: `P` (preferencial) or `N` (normal), as on Brazilian call panels.
    pub fn prefix(self) -> &'static str {
        if self == Priority::None { "N" } else { "P" }
    }

    /// The priority that applies: age, when known, is decided by the birth date, and
    /// never lowers a declared priority.
    pub fn effective(declared: Priority, birth: Option<NaiveDate>, today: NaiveDate) -> Priority {
        let age = birth.map(|b| {
            let mut years = today.year() - b.year();
            if (today.month(), today.day()) < (b.month(), b.day()) {
                years -= 1;
            }
            years
        });
        match age {
            Some(a) if a >= 80 => Priority::Elderly80,
            Some(a) if a >= 60 && declared == Priority::None => Priority::Elderly,
            _ => declared,
        }
    }
}

/// A ticket as shown on the panel: prefix and a zero-padded number, e.g. `P007`.
pub fn ticket(prefix: &str, number: i64) -> String {
    format!("{prefix}{number:03}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn eighty_plus_goes_ahead_of_other_priorities_and_age_is_computed_on_the_day() {
        let today = d(2026, 11, 23);
        assert_eq!(
            Priority::effective(Priority::None, Some(d(1946, 11, 23)), today),
            Priority::Elderly80
        );
        assert_eq!(
            Priority::effective(Priority::None, Some(d(1946, 11, 24)), today),
            Priority::Elderly
        );
        assert_eq!(
            Priority::effective(Priority::Pregnant, Some(d(1990, 1, 1)), today),
            Priority::Pregnant
        );
        assert_eq!(
            Priority::effective(Priority::Disability, Some(d(1960, 1, 1)), today),
            Priority::Disability
        );
        assert_eq!(
            Priority::effective(Priority::None, None, today),
            Priority::None
        );
        assert!(Priority::Elderly80.rank() < Priority::Elderly.rank());
        assert!(Priority::Infant.rank() < Priority::None.rank());
        assert_eq!(ticket(Priority::Pregnant.prefix(), 7), "P007");
        assert_eq!(
            Priority::parse("breastfeeding").expect("ok"),
            Priority::Breastfeeding
        );
        assert_eq!(
            Priority::parse("vip").expect_err("bad").code,
            "invalid_priority"
        );
    }
}
