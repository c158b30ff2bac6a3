//! Waiting-room rules: legal priority (Lei 10.048/2000; Estatuto da Pessoa Idosa, with 80+
//! ahead of 60+), ticket prefixes, and the order patients are called in.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ValidationError;
use super::person::age_on;

/// Why someone is attended first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    None,
    /// 60 or older.
    Elderly,
    /// 80 or older: ahead of every other priority (Lei 13.466/2017).
    #[serde(rename = "elderly_80")]
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

    /// Whether the priority is the legal one by age (60+, 80+): those follow the birth
    /// date, never a declaration. Pregnancy, lactation, disability and an infant in arms are
    /// by declaration.
    pub fn is_by_age(self) -> bool {
        matches!(self, Priority::Elderly | Priority::Elderly80)
    }

    /// The priority that applies, checked against the birth date (`today` in the clinic's
    /// zone): age decides 60+ and 80+ and never lowers a declared priority; a declared 60+
    /// or 80+ the age does not reach is refused (`priority_age_mismatch`), and one without
    /// a birth date too (`birth_date_required`).
    pub fn decide(
        declared: Priority,
        birth: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Priority, ValidationError> {
        let Some(birth) = birth else {
            if declared.is_by_age() {
                return Err(ValidationError::new(
                    "birth_date_required",
                    "informe a data de nascimento: a prioridade 60+ ou 80+ é pela idade",
                ));
            }
            return Ok(declared);
        };
        let age = age_on(birth, today);
        let needed = match declared {
            Priority::Elderly80 => Some(80),
            Priority::Elderly => Some(60),
            _ => None,
        };
        if let Some(min) = needed
            && age < min
        {
            let years = if age == 1 {
                "1 ano".to_string()
            } else {
                format!("{age} anos")
            };
            return Err(ValidationError::new(
                "priority_age_mismatch",
                format!(
                    "a prioridade {min}+ é para quem tem {min} anos ou mais; pela data de nascimento, a pessoa tem {years}"
                ),
            ));
        }
        Ok(match age {
            a if a >= 80 => Priority::Elderly80,
            a if a >= 60 && matches!(declared, Priority::None | Priority::Elderly) => {
                Priority::Elderly
            }
            _ => declared,
        })
    }
}

impl TryFrom<String> for Priority {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

/// Where a waiting-room entry stands. Stored and sent as the same snake_case text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueEntryStatus {
    /// In line (checked in, or back in line after a missed call or a transfer).
    Waiting,
    /// Called to a room.
    Called,
    /// With the professional.
    InService,
    Done,
    /// Called and did not come (or gave up while waiting).
    NoShow,
    /// Left before being called.
    Left,
}

impl QueueEntryStatus {
    /// Every status, in the order of an entry's life.
    pub const ALL: &'static [QueueEntryStatus] = &[
        QueueEntryStatus::Waiting,
        QueueEntryStatus::Called,
        QueueEntryStatus::InService,
        QueueEntryStatus::Done,
        QueueEntryStatus::NoShow,
        QueueEntryStatus::Left,
    ];

    /// The text stored in the database and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueEntryStatus::Waiting => "waiting",
            QueueEntryStatus::Called => "called",
            QueueEntryStatus::InService => "in_service",
            QueueEntryStatus::Done => "done",
            QueueEntryStatus::NoShow => "no_show",
            QueueEntryStatus::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .iter()
            .copied()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ValidationError::new("invalid_status", "status desconhecido"))
    }

    /// Still in the clinic's hands: waiting, called or in service.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            QueueEntryStatus::Waiting | QueueEntryStatus::Called | QueueEntryStatus::InService
        )
    }

    /// The status `action` leads to from this one, or `None` when the action does not
    /// apply here. This is the one table of the moves an entry may make.
    pub fn after(self, action: QueueAction) -> Option<Self> {
        use QueueAction as A;
        use QueueEntryStatus::*;
        match (action, self) {
            (A::Call, Waiting) => Some(Called),
            // Called again: still called, one more recall.
            (A::Recall, Called) => Some(Called),
            (A::Start, Called) => Some(InService),
            (A::Finish, Called | InService) => Some(Done),
            (A::NoShow, Waiting | Called) => Some(NoShow),
            // Back in line, keeping the place.
            (A::Return, Called | NoShow) => Some(Waiting),
            (A::Leave, Waiting) => Some(Left),
            // Handed to another professional: back in line for them.
            (A::Transfer, Waiting | Called) => Some(Waiting),
            _ => None,
        }
    }

    /// Whether some move leads from this status to `to`.
    pub fn can_become(self, to: Self) -> bool {
        QueueAction::ALL.iter().any(|a| self.after(*a) == Some(to))
    }
}

impl std::str::FromStr for QueueEntryStatus {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for QueueEntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for QueueEntryStatus {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

/// What can be done to a waiting-room entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueAction {
    /// Not a move of an entry: the check-in itself (for carrying it to a linked appointment).
    CheckIn,
    /// Called to a room (by "call next").
    Call,
    /// Call the same patient again (they did not come).
    Recall,
    /// The patient came in: service starts.
    Start,
    Finish,
    NoShow,
    /// Back to waiting (after a no-show or a call they missed), keeping their place.
    Return,
    /// They left before being called.
    Leave,
    /// Hand over to another professional.
    Transfer,
}

impl QueueAction {
    /// Every action.
    pub const ALL: &'static [QueueAction] = &[
        QueueAction::CheckIn,
        QueueAction::Call,
        QueueAction::Recall,
        QueueAction::Start,
        QueueAction::Finish,
        QueueAction::NoShow,
        QueueAction::Return,
        QueueAction::Leave,
        QueueAction::Transfer,
    ];

    /// The audit trail's name for this move (`queue.no_show`, `queue.transfer`…).
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::CheckIn => "queue.check_in",
            Self::Call => "queue.call",
            Self::Recall => "queue.recall",
            Self::Start => "queue.start",
            Self::Finish => "queue.finish",
            Self::NoShow => "queue.no_show",
            Self::Return => "queue.return",
            Self::Leave => "queue.leave",
            Self::Transfer => "queue.transfer",
        }
    }

    /// An action on one entry, as its route names it (`no-show`, `transfer`…).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "recall" => Self::Recall,
            "start" => Self::Start,
            "finish" => Self::Finish,
            "no-show" => Self::NoShow,
            "return" => Self::Return,
            "leave" => Self::Leave,
            "transfer" => Self::Transfer,
            _ => return None,
        })
    }
}

/// A ticket as shown on the panel: prefix and a zero-padded number, e.g. `P007`.
pub fn ticket(prefix: &str, number: i64) -> String {
    format!("{prefix}{number:03}")
}

/// How a clinic orders legal priority against everyone else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriorityMode {
    /// Priority tickets are always called first (80+ ahead of every other priority).
    Strict,
    /// After `priority_run` priority calls in a row, one regular ticket is called if any is
    /// waiting, so regular patients are not held back all day. 80+ still lead the priority line.
    Alternate,
}

impl PriorityMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PriorityMode::Strict => "strict",
            PriorityMode::Alternate => "alternate",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "strict" => Ok(PriorityMode::Strict),
            "alternate" => Ok(PriorityMode::Alternate),
            _ => Err(ValidationError::new(
                "invalid_priority_mode",
                "modo de prioridade deve ser strict ou alternate",
            )),
        }
    }
}

/// A clinic's waiting-room rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QueuePolicy {
    pub priority_mode: PriorityMode,
    /// For `alternate`: priority calls in a row before a regular one (1–10).
    pub priority_run: u32,
    /// The service time assumed for a professional with no recent history (1–240 minutes).
    pub default_service_minutes: u32,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self {
            priority_mode: PriorityMode::Strict,
            priority_run: 2,
            default_service_minutes: 15,
        }
    }
}

impl QueuePolicy {
    pub fn new(
        priority_mode: PriorityMode,
        priority_run: i64,
        default_service_minutes: i64,
    ) -> Result<Self, ValidationError> {
        if !(1..=10).contains(&priority_run) {
            return Err(ValidationError::new(
                "invalid_priority_run",
                "chamadas prioritárias seguidas: de 1 a 10",
            ));
        }
        if !(1..=240).contains(&default_service_minutes) {
            return Err(ValidationError::new(
                "invalid_service_minutes",
                "tempo de atendimento padrão: de 1 a 240 minutos",
            ));
        }
        Ok(Self {
            priority_mode,
            priority_run: priority_run as u32,
            default_service_minutes: default_service_minutes as u32,
        })
    }
}

/// The order in which waiting tickets will be called.
///
/// `ranks` are the waiting entries' priority ranks, already sorted by (rank, arrival) — the
/// strict order. `streak` is how many of the most recent calls today were priority calls.
/// Returns indexes into `ranks`.
pub fn call_order(ranks: &[i32], policy: &QueuePolicy, streak: u32) -> Vec<usize> {
    if policy.priority_mode == PriorityMode::Strict {
        return (0..ranks.len()).collect();
    }
    let regular = Priority::None.rank();
    let mut prio = ranks
        .iter()
        .enumerate()
        .filter(|(_, r)| **r < regular)
        .map(|(i, _)| i)
        .peekable();
    let mut rest = ranks
        .iter()
        .enumerate()
        .filter(|(_, r)| **r >= regular)
        .map(|(i, _)| i)
        .peekable();
    let mut out = Vec::with_capacity(ranks.len());
    let mut run = streak;
    loop {
        let take_prio = match (prio.peek(), rest.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(_), Some(_)) => run < policy.priority_run,
        };
        if take_prio {
            out.extend(prio.next());
            run += 1;
        } else {
            out.extend(rest.next());
            run = 0;
        }
    }
    out
}

/// Minutes until each waiting entry is likely called.
///
/// `waiting` is in call order, each with its professional (`None`: whoever calls first).
/// `minutes_of(p)` is a professional's recent mean service time; `serving` is how many
/// professionals are attending today (at least one). An entry for a professional waits for
/// the entries ahead that the same professional may take; an entry for anyone waits for all
/// entries ahead, shared among the professionals serving.
pub fn estimated_waits<P: PartialEq + Copy>(
    waiting: &[Option<P>],
    minutes_of: impl Fn(Option<P>) -> f64,
    serving: usize,
) -> Vec<u32> {
    let serving = serving.max(1) as f64;
    waiting
        .iter()
        .enumerate()
        .map(|(i, mine)| {
            let ahead = &waiting[..i];
            let minutes = match mine {
                Some(p) => {
                    let n = ahead
                        .iter()
                        .filter(|o| o.is_none() || *o == &Some(*p))
                        .count();
                    n as f64 * minutes_of(Some(*p))
                }
                None => ahead.len() as f64 * minutes_of(None) / serving,
            };
            minutes.ceil().max(0.0) as u32
        })
        .collect()
}

/// A name safe for a public panel: first name and the initial of the last (LGPD).
pub fn panel_name(full_name: &str) -> String {
    let mut parts = full_name.split_whitespace();
    let first = parts.next().unwrap_or("");
    match parts.last() {
        Some(last) => format!("{first} {}.", last.chars().next().unwrap_or(' ')),
        None => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_moves_only_as_the_table_says() {
        use QueueAction as A;
        use QueueEntryStatus::*;
        // Every (action, from, to) the waiting room allows; everything else is refused.
        let allowed = [
            (A::Call, Waiting, Called),
            (A::Recall, Called, Called),
            (A::Start, Called, InService),
            (A::Finish, Called, Done),
            (A::Finish, InService, Done),
            (A::NoShow, Waiting, NoShow),
            (A::NoShow, Called, NoShow),
            (A::Return, Called, Waiting),
            (A::Return, NoShow, Waiting),
            (A::Leave, Waiting, Left),
            (A::Transfer, Waiting, Waiting),
            (A::Transfer, Called, Waiting),
        ];
        for a in QueueAction::ALL {
            for from in QueueEntryStatus::ALL {
                let want = allowed
                    .iter()
                    .find(|(x, f, _)| x == a && f == from)
                    .map(|(_, _, to)| *to);
                assert_eq!(from.after(*a), want, "{a:?} from {from:?}");
            }
        }
        for (_, from, to) in allowed {
            assert!(from.can_become(to), "{from:?} -> {to:?}");
        }
        for (from, to) in [
            (Done, Waiting),
            (Left, Waiting),
            (InService, Waiting),
            (Waiting, InService),
            (Waiting, Done),
            (NoShow, Called),
            (Done, Done),
        ] {
            assert!(!from.can_become(to), "{from:?} -> {to:?} must be refused");
        }
        assert!(
            QueueEntryStatus::ALL
                .iter()
                .all(|s| s.is_active() == matches!(s, Waiting | Called | InService))
        );
    }

    #[test]
    fn statuses_and_actions_read_back_as_written() {
        for s in QueueEntryStatus::ALL {
            assert_eq!(QueueEntryStatus::parse(s.as_str()).expect("round trip"), *s);
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
        assert_eq!(
            QueueEntryStatus::parse("lost").expect_err("unknown").code,
            "invalid_status"
        );
        assert_eq!(QueueAction::parse("no-show"), Some(QueueAction::NoShow));
        assert_eq!(QueueAction::parse("call"), None, "called by call-next only");
        assert_eq!(QueueAction::parse("dance"), None);
    }

    #[test]
    fn panels_show_first_name_and_an_initial_only() {
        assert_eq!(panel_name("Maria Aparecida Santos"), "Maria S.");
        assert_eq!(panel_name("Cher"), "Cher");
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn eighty_plus_goes_ahead_of_other_priorities_and_age_is_computed_on_the_day() {
        let today = d(2026, 11, 23);
        let decide = |declared, birth| Priority::decide(declared, birth, today).expect("valid");
        assert_eq!(
            decide(Priority::None, Some(d(1946, 11, 23))),
            Priority::Elderly80
        );
        assert_eq!(
            decide(Priority::None, Some(d(1946, 11, 24))),
            Priority::Elderly
        );
        assert_eq!(
            decide(Priority::Pregnant, Some(d(1990, 1, 1))),
            Priority::Pregnant
        );
        assert_eq!(
            decide(Priority::Disability, Some(d(1960, 1, 1))),
            Priority::Disability
        );
        assert_eq!(decide(Priority::None, None), Priority::None);
        // Declared by age and reached: kept, or raised to 80+.
        assert_eq!(
            decide(Priority::Elderly, Some(d(1966, 11, 23))),
            Priority::Elderly
        );
        assert_eq!(
            decide(Priority::Elderly, Some(d(1940, 1, 1))),
            Priority::Elderly80
        );
        // By declaration, whatever the age.
        for p in [
            Priority::Pregnant,
            Priority::Breastfeeding,
            Priority::Disability,
            Priority::Infant,
        ] {
            assert_eq!(decide(p, None), p);
            assert_eq!(decide(p, Some(d(2000, 5, 5))), p);
        }
    }

    #[test]
    fn age_priorities_the_birth_date_does_not_reach_are_refused() {
        let today = d(2026, 11, 23);
        let refused =
            |declared, birth| Priority::decide(declared, birth, today).expect_err("refused");
        let child = refused(Priority::Elderly, Some(d(2015, 6, 1)));
        assert_eq!(child.code, "priority_age_mismatch");
        assert!(child.message.contains("tem 11 anos"), "{}", child.message);
        assert!(child.message.contains("60+"), "{}", child.message);
        // One day short of 60.
        let almost = refused(Priority::Elderly, Some(d(1966, 11, 24)));
        assert!(almost.message.contains("tem 59 anos"), "{}", almost.message);
        let seventy = refused(Priority::Elderly80, Some(d(1956, 1, 1)));
        assert_eq!(seventy.code, "priority_age_mismatch");
        assert!(seventy.message.contains("80+"), "{}", seventy.message);
        assert!(
            refused(Priority::Elderly, Some(d(2025, 1, 1)))
                .message
                .contains("tem 1 ano")
        );
        for p in [Priority::Elderly, Priority::Elderly80] {
            assert_eq!(refused(p, None).code, "birth_date_required");
        }
        assert!(Priority::Elderly80.rank() < Priority::Elderly.rank());
        assert!(Priority::Infant.rank() < Priority::None.rank());
        assert_eq!(ticket(Priority::Pregnant.prefix(), 7), "P007");
        assert_eq!(
            Priority::parse("elderly_80").expect("ok"),
            Priority::Elderly80
        );
        for p in [Priority::Elderly80, Priority::Infant, Priority::None] {
            assert_eq!(Priority::parse(p.as_str()).expect("round trip"), p);
        }
        assert_eq!(
            Priority::parse("breastfeeding").expect("ok"),
            Priority::Breastfeeding
        );
        assert_eq!(
            Priority::parse("vip").expect_err("bad").code,
            "invalid_priority"
        );
    }

    #[test]
    fn strict_mode_keeps_the_legal_order() {
        let policy = QueuePolicy::default();
        assert_eq!(call_order(&[0, 1, 2, 2], &policy, 5), vec![0, 1, 2, 3]);
    }

    #[test]
    fn alternate_mode_lets_a_regular_ticket_through_after_the_run() {
        let policy = QueuePolicy {
            priority_mode: PriorityMode::Alternate,
            priority_run: 2,
            default_service_minutes: 15,
        };
        // Waiting: P(80+), P, P, N, N — strict order by rank then arrival.
        let ranks = [0, 1, 1, 2, 2];
        assert_eq!(call_order(&ranks, &policy, 0), vec![0, 1, 3, 2, 4]);
        // Two priority calls were just made: a regular ticket goes next.
        assert_eq!(call_order(&ranks, &policy, 2), vec![3, 0, 1, 4, 2]);
        // Nobody regular waiting: priority continues.
        assert_eq!(call_order(&[1, 1, 1], &policy, 2), vec![0, 1, 2]);
        // Nobody with priority: regular in arrival order.
        assert_eq!(call_order(&[2, 2], &policy, 0), vec![0, 1]);
    }

    #[test]
    fn policy_bounds_are_checked() {
        assert!(QueuePolicy::new(PriorityMode::Alternate, 0, 15).is_err());
        assert!(QueuePolicy::new(PriorityMode::Alternate, 3, 0).is_err());
        assert_eq!(
            PriorityMode::parse("random").expect_err("bad").code,
            "invalid_priority_mode"
        );
        assert!(QueuePolicy::new(PriorityMode::Strict, 10, 240).is_ok());
    }

    #[test]
    fn waits_count_the_entries_each_professional_will_take_first() {
        // Professionals 1 and 2; 1 takes 10 min, 2 takes 20, anyone averages 15.
        let minutes = |p: Option<u8>| match p {
            Some(1) => 10.0,
            Some(2) => 20.0,
            _ => 15.0,
        };
        let waiting = [Some(1), Some(2), None, Some(1), None];
        let waits = estimated_waits(&waiting, minutes, 2);
        assert_eq!(waits[0], 0);
        // Professional 2 has nobody of theirs ahead (entry 0 is professional 1's).
        assert_eq!(waits[1], 0);
        // Anyone: two ahead, shared by two professionals at 15 min.
        assert_eq!(waits[2], 15);
        // Professional 1: entries 0 and 2 (anyone) ahead at 10 min each.
        assert_eq!(waits[3], 20);
        assert_eq!(waits[4], 30);
    }
}
