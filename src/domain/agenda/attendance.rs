//! Attendance and occupancy of a clinic's agendas over a period (the clinic admin's report):
//! per professional, how many appointments there were and how they ended, the share of the
//! patients expected who did not come (no-show rate), and how much of the time the agenda
//! offered was booked (occupancy). Pure: the use case reads the rows and the hours.

use std::collections::BTreeMap;

use super::status::AppointmentStatus;

/// One professional's period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attendance {
    /// Appointments that hold (or held) time: every one but cancelled and waitlist holds.
    pub appointments: i64,
    /// Attended (`done`).
    pub done: i64,
    pub no_show: i64,
    pub cancelled: i64,
    /// Minutes of the appointments that hold time.
    pub booked_minutes: i64,
    /// Minutes the agenda was open (weekly hours and extra hours, minus closures).
    pub offered_minutes: i64,
}

impl Attendance {
    /// Count one appointment of `minutes`.
    pub fn add(&mut self, status: AppointmentStatus, minutes: i64) {
        use AppointmentStatus::*;
        match status {
            Cancelled => self.cancelled += 1,
            Held => {}
            _ => {
                self.appointments += 1;
                self.booked_minutes += minutes.max(0);
                match status {
                    Done => self.done += 1,
                    NoShow => self.no_show += 1,
                    _ => {}
                }
            }
        }
    }

    /// Of the patients whose visit is decided (attended or absent), the share who did not
    /// come; none before any is decided.
    pub fn no_show_rate(&self) -> Option<f64> {
        let decided = self.done + self.no_show;
        (decided > 0).then(|| self.no_show as f64 / decided as f64)
    }

    /// Booked time over offered time; none when the agenda offered nothing. It may pass 1
    /// when appointments were fitted in outside the hours.
    pub fn occupancy(&self) -> Option<f64> {
        (self.offered_minutes > 0).then(|| self.booked_minutes as f64 / self.offered_minutes as f64)
    }

    /// The sum of two periods or professionals.
    pub fn plus(self, o: Attendance) -> Attendance {
        Attendance {
            appointments: self.appointments + o.appointments,
            done: self.done + o.done,
            no_show: self.no_show + o.no_show,
            cancelled: self.cancelled + o.cancelled,
            booked_minutes: self.booked_minutes + o.booked_minutes,
            offered_minutes: self.offered_minutes + o.offered_minutes,
        }
    }
}

/// Appointments (`(who, status, minutes)`) counted per professional.
pub fn tally<K: Ord>(
    rows: impl IntoIterator<Item = (K, AppointmentStatus, i64)>,
) -> BTreeMap<K, Attendance> {
    let mut out: BTreeMap<K, Attendance> = BTreeMap::new();
    for (who, status, minutes) in rows {
        out.entry(who).or_default().add(status, minutes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use AppointmentStatus::*;

    #[test]
    fn cancelled_and_held_take_no_time_and_the_rates_count_only_what_is_decided() {
        let t = tally([
            ("ana", Done, 30),
            ("ana", NoShow, 30),
            ("ana", Done, 60),
            ("ana", Scheduled, 30),
            ("ana", Cancelled, 30),
            ("ana", Held, 30),
            ("rui", Confirmed, 45),
        ]);
        let mut ana = t["ana"];
        assert_eq!(
            (
                ana.appointments,
                ana.done,
                ana.no_show,
                ana.cancelled,
                ana.booked_minutes
            ),
            (4, 2, 1, 1, 150)
        );
        assert_eq!(ana.no_show_rate(), Some(1.0 / 3.0));
        assert_eq!(ana.occupancy(), None, "no hours known yet");
        ana.offered_minutes = 600;
        assert_eq!(ana.occupancy(), Some(0.25));
        // Nobody decided yet: no rate rather than 0 %.
        assert_eq!(t["rui"].no_show_rate(), None);
        let all = ana.plus(t["rui"]);
        assert_eq!(
            (all.appointments, all.booked_minutes, all.offered_minutes),
            (5, 195, 600)
        );
    }
}
