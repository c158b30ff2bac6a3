//! The `ClinicAgenda` actor itself: one per clinic, its cached time zone and its
//! supervision. What it does lives beside it: `booking` (book, move, cancel, status) and
//! `waitlist` (offers of freed time).

use std::time::Instant;

use actix::prelude::*;

use crate::actors::{Entity, EntityDeps, stop_when_idle};
use crate::domain::ClinicId;

pub struct ClinicAgenda {
    pub(super) clinic: ClinicId,
    pub(super) deps: EntityDeps,
    /// The clinic's time zone, once loaded.
    pub(super) tz: Option<chrono_tz::Tz>,
    last_active: Instant,
}

impl ClinicAgenda {
    pub fn new(clinic: ClinicId, deps: EntityDeps) -> Self {
        Self {
            clinic,
            deps,
            tz: None,
            last_active: Instant::now(),
        }
    }
}

impl ClinicAgenda {
    pub(crate) fn clinic(&self) -> ClinicId {
        self.clinic
    }

    pub(crate) fn cached_tz(&self) -> Option<chrono_tz::Tz> {
        self.tz
    }
}

impl Actor for ClinicAgenda {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        stop_when_idle(self, ctx);
    }
}

impl Entity for ClinicAgenda {
    type Cache = chrono_tz::Tz;

    fn deps(&self) -> &EntityDeps {
        &self.deps
    }

    fn last_active(&mut self) -> &mut Instant {
        &mut self.last_active
    }

    fn remember(&mut self, tz: chrono_tz::Tz) {
        self.tz = Some(tz);
    }

    fn forget(&mut self) {
        self.tz = None;
    }
}
