//! Benchmark of issue #18's scenario (run by hand: `ATENDE_BENCH=1`): 10,000 appointment
//! reminders fall due at the same instant and one node, or two on one PostgreSQL database,
//! send them to the test SMTP server (here) or to the WhatsApp contract server
//! (`whatsapp::burst`, the same driver: [`reminders_due_at_once`]). Prints messages per
//! second and the delay from due time to `sent` (p50, p99, max), and checks that each
//! message reached the server exactly once (here by `Message-ID`). See
//! docs/performance.md.
//!
//! The reminders are outbox rows as the reminder scheduler writes them (template
//! `appointment_reminder`, the appointment's and patient's ids, the payload with the signed
//! confirm, cancel and opt-out links, no address: the worker looks it up), each about an
//! open appointment of its own, so the worker does per message what it does for a real
//! reminder: decrypt, check the appointment is still open and at that time, check the
//! patient's opt-out, look up the address and the clinic as sender, send, record `sent`.
//! The nodes' clocks stand an hour back while the rows are written, then jump to the
//! present: every row falls due at that instant (the worst case of "in the same minute").

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use atende::clock::Clock as _;
use atende::domain::agenda::AppointmentStatus;
use atende::domain::{ClinicId, PatientId, UserId};
use atende::store::agenda::AppointmentRow;
use atende::store::outbox::{MessageFilter, NewMessage};
use serde_json::json;

use super::mailbox::*;
use crate::agenda::{Agenda, agenda_fixture};
use crate::helpers::*;

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The nodes of a benchmark: `ATENDE_BENCH_NODES` (1; 2 needs PostgreSQL) apps with
/// `tweak`, batches of `ATENDE_BENCH_BATCH` (50), a look every 20 ms, no reminder scheduler
/// (the reminders are written as it would write them).
pub(crate) async fn bench_nodes(tweak: impl Fn(&mut atende::config::Settings)) -> Vec<TestApp> {
    let nodes: usize = env_or("ATENDE_BENCH_NODES", 1);
    let batch: u32 = env_or("ATENDE_BENCH_BATCH", 50);
    let settings = |s: &mut atende::config::Settings| {
        tweak(s);
        s.messaging.batch_size = batch;
        s.messaging.poll_interval_ms = 20;
        // The scheduler looks once at start-up, before these appointments exist.
        s.messaging.reminder_poll_secs = 86_400;
        s.database.max_connections = 10;
    };
    let one = spawn_app_with(settings).await;
    let mut apps = vec![one];
    if nodes > 1 {
        assert!(
            apps[0].is_postgres(),
            "two nodes share a database on PostgreSQL only (TEST_DATABASE_URL)"
        );
        let db = apps[0].db_url.clone();
        apps.push(spawn_node(Some(db), settings).await);
    }
    apps
}

/// What a burst came to.
pub(crate) struct Burst {
    /// The reminders' outbox ids.
    pub ids: Vec<uuid::Uuid>,
    /// Seconds from due time to `sent`, sorted.
    pub delays: Vec<f64>,
    pub backend: &'static str,
}

impl Burst {
    /// The summary line: messages per second and the delays.
    pub fn report(&self, nodes: usize, how: &str) -> String {
        let count = self.ids.len();
        let last = self.delays[count - 1];
        format!(
            "{count} reminders due at once, {nodes} node(s) ({}), {how}: all sent {last:.2} s after due = {:.0} messages/s ({:.0} per node); \
             delay from due to sent p50 {:.2} s, p99 {:.2} s, max {last:.2} s",
            self.backend,
            count as f64 / last,
            count as f64 / last / nodes as f64,
            percentile(&self.delays, 0.50),
            percentile(&self.delays, 0.99),
        )
    }
}

/// `ATENDE_BENCH_MESSAGES` (10,000) reminders by `channel`, each about an open appointment
/// of its own (João's and Maria's, who have phones for WhatsApp), written while the nodes'
/// clocks stand an hour back, then all due at once; returns when none is left to send,
/// every one of them `sent`.
pub(crate) async fn reminders_due_at_once(apps: &[TestApp], channel: &'static str) -> Burst {
    let count: usize = env_or("ATENDE_BENCH_MESSAGES", 10_000);
    let app = &apps[0];
    let a = agenda_fixture(app).await;
    for (n, p) in [&a.joao, &a.maria].iter().enumerate() {
        let resp = app
            .patch(
                &format!(
                    "/api/clinics/{}/patients/{}",
                    a.clinic,
                    Agenda::patient(p).as_str().expect("id")
                ),
                Some(&a.recep.access),
                &json!({"phone": format!("(11) 98765-432{n}")}),
            )
            .await;
        assert!(resp.status().is_success(), "phone: {}", resp.status());
    }
    // Nothing falls due while the rows are written.
    for n in apps {
        n.clock.advance(chrono::Duration::hours(-1));
    }
    let store = &app.state.store;
    let clinic: ClinicId = a.clinic.parse().expect("clinic id");
    let helena: UserId = Agenda::id(&a.helena)
        .as_str()
        .expect("id")
        .parse()
        .expect("user id");
    let patients: Vec<PatientId> = [&a.joao, &a.maria]
        .iter()
        .map(|p| {
            Agenda::patient(p)
                .as_str()
                .expect("patient")
                .parse()
                .expect("patient id")
        })
        .collect();
    // One appointment per reminder, 15 minutes each, one after another from three days on
    // (so no reminder of the clinic's own rules falls due meanwhile), on whole minutes as
    // the database keeps them (PostgreSQL keeps microseconds, chrono has nanoseconds).
    let first = chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp() / 60 * 60, 0)
        .expect("time")
        + chrono::Duration::days(3);
    let began = std::time::Instant::now();
    let mut ids = Vec::with_capacity(count);
    let mut tx = store.begin().await.expect("tx");
    for n in 0..count {
        let starts = first + chrono::Duration::minutes(15 * n as i64);
        let ends = starts + chrono::Duration::minutes(15);
        let now = chrono::Utc::now();
        let row = AppointmentRow {
            id: uuid::Uuid::now_v7(),
            clinic_id: clinic,
            professional_user_id: helena,
            patient_id: patients[n % patients.len()],
            service_id: None,
            kind: "in_person".into(),
            status: AppointmentStatus::Scheduled,
            starts_at: starts,
            ends_at: ends,
            block_start: starts,
            block_end: ends,
            hold_expires_at: None,
            notes: String::new(),
            cancel_reason: None,
            booked_by: None,
            created_at: now,
            updated_at: now,
        };
        store
            .insert_appointment(&mut tx, &row)
            .await
            .expect("appointment");
        let payload = json!({
            "appointment_id": row.id,
            "patient_name": "Paciente",
            "professional_name": "Helena Duarte",
            "service_name": null,
            "clinic_name": "Clínica Aurora",
            "starts_at": row.starts_at,
            "kind": row.kind,
            "offset_minutes": 1440,
            "links": atende::actors::agenda::AppointmentLinks::new(&app.state.links, &row),
            "optout_path": atende::app::consents::email_optout_path(&app.state.links, row.patient_id),
        });
        let m = NewMessage {
            clinic: Some(clinic),
            patient: Some(row.patient_id),
            appointment: Some(row.id),
            channel,
            template: atende::app::reminders::REMINDER_TEMPLATE.into(),
            ..Default::default()
        };
        ids.push(
            store
                .insert_message(&mut tx, &m, &payload)
                .await
                .expect("reminder"),
        );
    }
    tx.commit().await.expect("commit");
    eprintln!(
        "wrote {count} appointments and their reminders in {:.1} s",
        began.elapsed().as_secs_f64()
    );

    // Every reminder falls due now.
    for n in apps {
        n.clock.set(chrono::Utc::now());
    }
    let due = app.clock.now();
    let start = std::time::Instant::now();
    let filter = MessageFilter {
        channel: Some(channel.into()),
        ..Default::default()
    };
    // Watched with the cheap count (reading 10,000 rows every look took CPU from the nodes).
    loop {
        let open: i64 = store
            .outbox_counts()
            .await
            .expect("counts")
            .iter()
            .filter(|c| c.channel == channel)
            .filter(|c| matches!(c.status.as_str(), "queued" | "sending" | "failed"))
            .map(|c| c.count)
            .sum();
        if open == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(900), "took too long");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let wanted: HashSet<uuid::Uuid> = ids.iter().copied().collect();
    let rows: Vec<_> = store
        .clinic_messages(clinic, &filter, (count * 2) as i64)
        .await
        .expect("messages")
        .into_iter()
        .filter(|m| wanted.contains(&m.id))
        .collect();
    assert_eq!(rows.len(), count);
    let not_sent: Vec<_> = rows.iter().filter(|m| m.status != "sent").collect();
    assert!(
        not_sent.is_empty(),
        "not sent: {:#?}",
        &not_sent[..not_sent.len().min(3)]
    );
    let mut delays: Vec<f64> = rows
        .iter()
        .map(|m| (m.sent_at.expect("sent_at") - due).num_milliseconds() as f64 / 1000.0)
        .collect();
    delays.sort_by(f64::total_cmp);
    Burst {
        ids,
        delays,
        backend: if app.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
    }
}

/// `ATENDE_BENCH_CONNECTIONS` SMTP sessions per node (4); the rest as
/// [`reminders_due_at_once`] and [`bench_nodes`] say.
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bench_ten_thousand_reminders_due_at_once_to_smtp() {
    if std::env::var("ATENDE_BENCH").as_deref() != Ok("1") {
        eprintln!("skipped: a benchmark (set ATENDE_BENCH=1 to run it)");
        return;
    }
    let Some((host, port, maildir)) = smtp_server() else {
        return;
    };
    let connections: u32 = env_or("ATENDE_BENCH_CONNECTIONS", 4);
    let apps = bench_nodes(|s| {
        smtp_settings(s, &host, port);
        s.messaging.smtp.connections = connections;
    })
    .await;
    let burst = reminders_due_at_once(&apps, "email").await;
    let count = burst.ids.len();

    // Each exactly once in the maildir.
    let by_id: HashMap<String, uuid::Uuid> = burst
        .ids
        .iter()
        .map(|i| (message_id(&i.to_string()), *i))
        .collect();
    let mut copies: HashMap<uuid::Uuid, usize> = HashMap::new();
    for m in matching(&maildir, &|m| {
        m.header("Message-ID")
            .is_some_and(|id| by_id.contains_key(&id))
    }) {
        let id = by_id[&m.header("Message-ID").expect("id")];
        *copies.entry(id).or_default() += 1;
    }
    let twice = copies.values().filter(|c| **c > 1).count();
    assert_eq!(copies.len(), count, "every reminder in the maildir");
    assert_eq!(twice, 0, "none twice");
    println!(
        "{}; each once in the maildir",
        burst.report(
            apps.len(),
            &format!(
                "{connections} SMTP sessions and batches of {} per node",
                env_or("ATENDE_BENCH_BATCH", 50)
            )
        )
    );
    drop(apps);
}
