//! The actix system atende runs on (`atende` and every `#[actix_web::rt::test]`), with one
//! mend to its teardown.
//!
//! An `actix_rt::Runtime` drops its `LocalSet` (every actor and spawned task) before its
//! Tokio runtime, so those tasks drop where no Tokio context can be found. A task that holds
//! a pooled database connection at that moment (an actor mid-query, a sweeper's
//! transaction) then panics in sqlx's destructor, which hands the connection back by
//! spawning a task ("this functionality requires a Tokio context"). Tokio swallows that
//! panic, but it is printed, and while a failing test unwinds it comes with a forced full
//! backtrace that buries the test's own message; CI twice reported such a run only as
//! SIGABRT, "panic in a destructor during cleanup".
//!
//! [`System`] runs the same actix system, but with a teardown runtime entered around it:
//! the dropped tasks find that runtime, their connections' hand-backs are queued on it, and
//! it is dropped last (the connections are closed, nothing runs). The tests below show the
//! panic on the plain system and its absence here.
//!
//! Tests name it in their attribute: `#[actix_web::rt::test(system = "atende::runtime::System")]`.

use std::future::Future;

/// An actix system whose tasks drop inside a Tokio context. `System::new().block_on(fut)`,
/// as with `actix_rt::System`.
pub struct System;

impl System {
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Runner {
        Runner {
            system: actix_web::rt::System::new(),
        }
    }
}

/// A started [`System`]: [`Runner::block_on`] runs a future to its end, then stops the system.
pub struct Runner {
    system: actix_web::rt::SystemRunner,
}

impl Runner {
    /// Run `fut` on the system's thread and return its output, then drop the system with
    /// the teardown runtime entered (also while a panic unwinds out of `fut`).
    pub fn block_on<F: Future>(self, fut: F) -> F::Output {
        // A runtime without drivers: building it allocates nothing it could fail on; if it
        // ever did, the system runs as plain actix would.
        let teardown = tokio::runtime::Builder::new_current_thread().build().ok();
        let out = {
            let _context = teardown.as_ref().map(tokio::runtime::Runtime::enter);
            // Declared after the guard, so it drops first, the guard still in place (on
            // unwinding as well).
            let system = self.system;
            system.block_on(fut)
        };
        drop(teardown);
        out
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use sqlx::sqlite::SqlitePoolOptions;

    thread_local!(static PANICS: Cell<usize> = const { Cell::new(0) });

    /// Count the panics of each thread (tokio swallows a panic in a task's destructor, so
    /// a test would not otherwise see it), then report them as before.
    fn panics_on_this_thread() -> usize {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let report = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                PANICS.with(|n| n.set(n.get() + 1));
                report(info);
            }));
        });
        PANICS.with(Cell::get)
    }

    /// A task that holds a pooled connection, still running when the system stops.
    async fn hold_a_connection_past_the_end() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("pool");
        let (held, mut acquired) = tokio::sync::mpsc::channel(1);
        actix_web::rt::spawn(async move {
            let conn = pool.acquire().await.expect("acquire");
            let _ = held.send(()).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(conn);
        });
        acquired
            .recv()
            .await
            .expect("the task holds its connection");
    }

    #[test]
    fn a_task_holding_a_connection_when_the_system_stops_drops_it_without_a_panic() {
        let before = panics_on_this_thread();
        super::System::new().block_on(hold_a_connection_past_the_end());
        assert_eq!(panics_on_this_thread(), before, "a destructor panicked");
    }

    #[test]
    fn a_failing_run_unwinds_with_its_own_panic_alone() {
        let before = panics_on_this_thread();
        let outcome = std::panic::catch_unwind(|| {
            super::System::new().block_on(async {
                hold_a_connection_past_the_end().await;
                panic!("the run's own failure");
            })
        });
        let why = outcome.expect_err("the run panicked");
        assert_eq!(why.downcast_ref::<&str>(), Some(&"the run's own failure"));
        assert_eq!(
            panics_on_this_thread(),
            before + 1,
            "only the run's own panic"
        );
    }

    /// What the mend is for: on the plain actix system the same run panics in sqlx's
    /// destructor ("this functionality requires a Tokio context"). When this fails, sqlx
    /// or actix no longer need the mend.
    #[test]
    fn the_plain_actix_system_panics_there() {
        let before = panics_on_this_thread();
        actix_web::rt::System::new().block_on(hold_a_connection_past_the_end());
        assert_eq!(panics_on_this_thread(), before + 1);
    }
}
