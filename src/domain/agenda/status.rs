//! The states of an appointment, a waitlist entry and a waitlist offer, and the moves
//! between them. Each is stored and sent as the same snake_case text it always was.

use serde::{Deserialize, Serialize};

use crate::domain::ValidationError;

/// `as_str`, `parse`, `FromStr`, `Display` and `TryFrom<String>` (how rows read the
/// column) for a status enum, from its variants and their stored text.
macro_rules! stored_as_text {
    ($name:ident, $code:literal, $message:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// Every status, in the order of its life.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text stored in the database and sent in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Result<Self, ValidationError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ValidationError::new($code, $message)),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
    };
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Held for a waitlist offer until its patient answers or the hold lapses.
    Held,
    Scheduled,
    Confirmed,
    /// Arrived: in today's waiting room.
    CheckedIn,
    InProgress,
    Done,
    Cancelled,
    NoShow,
}

stored_as_text!(AppointmentStatus, "invalid_status", "status desconhecido", {
    Held => "held",
    Scheduled => "scheduled",
    Confirmed => "confirmed",
    CheckedIn => "checked_in",
    InProgress => "in_progress",
    Done => "done",
    Cancelled => "cancelled",
    NoShow => "no_show",
});

impl AppointmentStatus {
    /// The moves an appointment may make. (A reschedule is not one of them: an open
    /// appointment moves in time and goes back to `scheduled`, see [`Self::is_open`].)
    pub fn can_become(self, to: Self) -> bool {
        use AppointmentStatus::*;
        matches!(
            (self, to),
            (Held, Scheduled | Cancelled)
                | (Scheduled, Confirmed | CheckedIn | Cancelled | NoShow)
                | (Confirmed, CheckedIn | Cancelled | NoShow)
                // Marked absent, then arrived late after all (back in the queue).
                | (NoShow, CheckedIn)
                | (CheckedIn, InProgress | NoShow | Cancelled)
                | (InProgress, Done)
        )
    }

    /// The moves that carry a visit that happened from this status up to `to` (one of
    /// `checked_in`, `in_progress`, `done`), each one allowed by [`Self::can_become`]: empty
    /// when the appointment is there or past it already, or cannot get there (cancelled).
    /// The queue's moves and a teleconsultation's admit and end walk this path, so a
    /// visit never skips a status the agenda shows.
    pub fn visit_steps_to(self, to: Self) -> Vec<Self> {
        use AppointmentStatus::*;
        const VISIT: [AppointmentStatus; 3] = [CheckedIn, InProgress, Done];
        let Some(end) = VISIT.iter().position(|s| *s == to) else {
            return Vec::new();
        };
        let start = match self {
            Scheduled | Confirmed | NoShow => 0,
            CheckedIn => 1,
            InProgress => 2,
            Held | Done | Cancelled => return Vec::new(),
        };
        VISIT
            .get(start..=end)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    /// Whether the appointment takes the professional's (and the patient's) time: all but
    /// cancelled and no-show.
    pub fn holds_time(self) -> bool {
        !matches!(
            self,
            AppointmentStatus::Cancelled | AppointmentStatus::NoShow
        )
    }

    /// Still ahead and changeable: it may be rescheduled, and its one-click links work.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            AppointmentStatus::Scheduled | AppointmentStatus::Confirmed
        )
    }
}

/// Where a waitlist entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitlistStatus {
    /// Waiting for freed time.
    Waiting,
    /// Holding an open offer.
    Offered,
    /// The offer was accepted.
    Booked,
    Declined,
    /// The offer's hold lapsed.
    Expired,
    /// Taken off the list before any offer.
    Cancelled,
}

stored_as_text!(WaitlistStatus, "invalid_status", "status desconhecido", {
    Waiting => "waiting",
    Offered => "offered",
    Booked => "booked",
    Declined => "declined",
    Expired => "expired",
    Cancelled => "cancelled",
});

impl WaitlistStatus {
    /// The moves an entry may make: one offer, and the entry closes with its answer.
    pub fn can_become(self, to: Self) -> bool {
        use WaitlistStatus::*;
        matches!(
            (self, to),
            (Waiting, Offered | Cancelled) | (Offered, Booked | Declined | Expired)
        )
    }
}

/// Where a waitlist offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    /// Open: the slot is held for the patient.
    Offered,
    Accepted,
    Declined,
    Expired,
}

stored_as_text!(OfferStatus, "invalid_status", "status desconhecido", {
    Offered => "offered",
    Accepted => "accepted",
    Declined => "declined",
    Expired => "expired",
});

impl OfferStatus {
    /// An open offer is answered or lapses, once.
    pub fn can_become(self, to: Self) -> bool {
        use OfferStatus::*;
        matches!((self, to), (Offered, Accepted | Declined | Expired))
    }

    /// The status its waitlist entry takes with it.
    pub fn entry_status(self) -> WaitlistStatus {
        match self {
            OfferStatus::Offered => WaitlistStatus::Offered,
            OfferStatus::Accepted => WaitlistStatus::Booked,
            OfferStatus::Declined => WaitlistStatus::Declined,
            OfferStatus::Expired => WaitlistStatus::Expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every pair not listed is refused.
    fn check<T: Copy + PartialEq + std::fmt::Debug>(
        all: &[T],
        can: impl Fn(T, T) -> bool,
        allowed: &[(T, T)],
    ) {
        for &from in all {
            for &to in all {
                assert_eq!(
                    can(from, to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn appointment_moves() {
        use AppointmentStatus::*;
        check(
            AppointmentStatus::ALL,
            AppointmentStatus::can_become,
            &[
                (Held, Scheduled),
                (Held, Cancelled),
                (Scheduled, Confirmed),
                (Scheduled, CheckedIn),
                (Scheduled, Cancelled),
                (Scheduled, NoShow),
                (Confirmed, CheckedIn),
                (Confirmed, Cancelled),
                (Confirmed, NoShow),
                (NoShow, CheckedIn),
                (CheckedIn, InProgress),
                (CheckedIn, NoShow),
                (CheckedIn, Cancelled),
                (InProgress, Done),
            ],
        );
        // A sample of refusals, spelled out.
        assert!(!Done.can_become(Cancelled));
        assert!(!Cancelled.can_become(Scheduled));
        assert!(!Scheduled.can_become(Done));
        assert!(!Held.can_become(Confirmed));
        assert!(!Confirmed.can_become(Confirmed));
        assert!(Held.holds_time() && !NoShow.holds_time() && !Cancelled.holds_time());
        assert!(Scheduled.is_open() && Confirmed.is_open() && !Held.is_open());
    }

    #[test]
    fn a_visit_walks_every_status_up_to_its_target() {
        use AppointmentStatus::*;
        assert_eq!(
            Scheduled.visit_steps_to(Done),
            vec![CheckedIn, InProgress, Done]
        );
        assert_eq!(
            Confirmed.visit_steps_to(InProgress),
            vec![CheckedIn, InProgress]
        );
        assert_eq!(CheckedIn.visit_steps_to(Done), vec![InProgress, Done]);
        assert_eq!(InProgress.visit_steps_to(Done), vec![Done]);
        assert_eq!(NoShow.visit_steps_to(CheckedIn), vec![CheckedIn]);
        assert!(InProgress.visit_steps_to(InProgress).is_empty());
        assert!(Done.visit_steps_to(InProgress).is_empty());
        assert!(Done.visit_steps_to(Done).is_empty());
        assert!(Cancelled.visit_steps_to(Done).is_empty());
        assert!(Held.visit_steps_to(Done).is_empty());
        assert!(Scheduled.visit_steps_to(Cancelled).is_empty());
        // Every step is an allowed move.
        for from in AppointmentStatus::ALL {
            for to in [CheckedIn, InProgress, Done] {
                let mut at = *from;
                for step in from.visit_steps_to(to) {
                    assert!(at.can_become(step), "{at:?} -> {step:?}");
                    at = step;
                }
            }
        }
    }

    #[test]
    fn waitlist_and_offer_moves() {
        use WaitlistStatus::*;
        check(
            WaitlistStatus::ALL,
            WaitlistStatus::can_become,
            &[
                (Waiting, Offered),
                (Waiting, Cancelled),
                (Offered, Booked),
                (Offered, Declined),
                (Offered, Expired),
            ],
        );
        assert!(!Offered.can_become(Cancelled), "answer the offer first");
        assert!(!Declined.can_become(Waiting));
        check(
            OfferStatus::ALL,
            OfferStatus::can_become,
            &[
                (OfferStatus::Offered, OfferStatus::Accepted),
                (OfferStatus::Offered, OfferStatus::Declined),
                (OfferStatus::Offered, OfferStatus::Expired),
            ],
        );
        assert!(!OfferStatus::Accepted.can_become(OfferStatus::Declined));
        assert_eq!(OfferStatus::Accepted.entry_status(), Booked);
    }

    #[test]
    fn statuses_are_stored_and_sent_as_their_snake_case_text() {
        fn round_trip<T>(all: &[T], as_str: impl Fn(T) -> &'static str)
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + TryFrom<String>,
        {
            for &s in all {
                let text = as_str(s);
                assert_eq!(serde_json::to_value(s).expect("json"), text);
                assert!(T::try_from(text.to_string()).is_ok_and(|back| back == s));
            }
        }
        round_trip(AppointmentStatus::ALL, AppointmentStatus::as_str);
        round_trip(WaitlistStatus::ALL, WaitlistStatus::as_str);
        round_trip(OfferStatus::ALL, OfferStatus::as_str);
        assert_eq!(
            AppointmentStatus::parse("teleported")
                .expect_err("unknown")
                .code,
            "invalid_status"
        );
    }
}
