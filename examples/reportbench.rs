//! The revenue report at a large clinic's year: seeds a year of paid appointments straight
//! into a running atende's PostgreSQL database, then times the report and the CSV export over
//! HTTP and samples the server's memory while the CSV streams.
//!
//! ```sh
//! # a server on PostgreSQL with the demo data (any build; say which in docs/performance.md)
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/atende_bench atende serve --demo &
//! cargo run --release --example reportbench -- --base http://127.0.0.1:8080 \
//!     --db postgres://postgres@127.0.0.1:5432/atende_bench --appointments 500000 --pid $!
//! ```
//! Each appointment is one minute long (one professional can hold 525,600 in a year without
//! overlapping, so the database's no-double-booking constraint stays on) and is paid once at
//! the desk: two ledger lines, the way a desk payment posts them. Seeding twice adds another
//! year before the first; `--year 2025` measures an already seeded year without seeding.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Args {
    base: String,
    db: String,
    appointments: i64,
    pid: Option<u32>,
    email: String,
    password: String,
    /// Measure this year without seeding (an earlier run seeded it).
    year: Option<i32>,
}

fn args() -> Args {
    let mut a = Args {
        base: "http://127.0.0.1:8080".into(),
        db: String::new(),
        appointments: 500_000,
        pid: None,
        email: "admin@aurora.demo".into(),
        password: "atende-demo".into(),
        year: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--base" => a.base = v,
            "--db" => a.db = v,
            "--appointments" => a.appointments = v.parse().expect("--appointments N"),
            "--pid" => a.pid = v.parse().ok(),
            "--email" => a.email = v,
            "--password" => a.password = v,
            "--year" => a.year = v.parse().ok(),
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.db.is_empty(), "--db postgres://… is required");
    a
}

/// The server's resident memory (KiB), from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() {
    let a = args();
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{}/api/auth/login", a.base))
        .json(&json!({"email": a.email, "password": a.password}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["access_token"].as_str().expect("token").to_string();
    let me: Value = http
        .get(format!("{}/api/me", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("me body");
    let clinic = me["memberships"]
        .as_array()
        .expect("memberships")
        .iter()
        .find(|m| m["role"] == "clinic_admin")
        .expect("a clinic admin")["clinic_id"]
        .as_str()
        .expect("clinic")
        .to_string();
    let clinic_id: uuid::Uuid = clinic.parse().expect("uuid");

    let pool = sqlx::PgPool::connect(&a.db).await.expect("database");
    let (pro, patient): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "SELECT m.user_id, (SELECT cp.patient_id FROM clinic_patients cp WHERE cp.clinic_id = $1 LIMIT 1)
         FROM memberships m WHERE m.clinic_id = $1 AND m.role = 'professional' LIMIT 1",
    )
    .bind(clinic_id)
    .fetch_one(&pool)
    .await
    .expect("a professional and a patient in the clinic");
    // A year that ends before the earliest appointment already there.
    let earliest: Option<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "SELECT MIN(block_start) FROM appointments WHERE professional_user_id = $1",
    )
    .bind(pro)
    .fetch_one(&pool)
    .await
    .expect("earliest");
    let seeding = a.year.is_none();
    let year = a.year.unwrap_or(0);
    let year = if seeding {
        earliest
            .map(|e| e.format("%Y").to_string().parse::<i32>().expect("year") - 1)
            .unwrap_or(2025)
            .min(2025)
    } else {
        year
    };
    let start = format!("{year}-01-01T03:00:00Z");

    let seeded = Instant::now();
    if seeding {
        let mut tx = pool.begin().await.expect("tx");
        sqlx::query(
        "INSERT INTO appointments (id, clinic_id, professional_user_id, patient_id, kind, status,
            starts_at, ends_at, block_start, block_end, notes_enc, created_at, updated_at)
         SELECT gen_random_uuid(), $1, $2, $3, 'in_person', 'done',
            t, t + interval '1 minute', t, t + interval '1 minute', '', t, t
         FROM (SELECT $4::timestamptz + (i * interval '1 minute') AS t
               FROM generate_series(0, $5 - 1) AS i) s",
    )
    .bind(clinic_id)
    .bind(pro)
    .bind(patient)
    .bind(&start)
    .bind(a.appointments)
    .execute(&mut *tx)
    .await
    .expect("appointments");
        // Each paid once at the desk: the card receivable debited, revenue credited.
        sqlx::query(
        "WITH paid AS (
            SELECT id, ends_at, gen_random_uuid() AS txn, (10000 + (random() * 20000)::int) AS cents
            FROM appointments WHERE clinic_id = $1 AND professional_user_id = $2
              AND starts_at >= $3::timestamptz AND starts_at < $3::timestamptz + interval '1 year'
              AND NOT EXISTS (SELECT 1 FROM ledger_entries l WHERE l.appointment_id = appointments.id))
         INSERT INTO ledger_entries (txn_id, clinic_id, account, amount_cents, kind, reference,
            appointment_id, created_at)
         SELECT txn, $1, acct, CASE WHEN acct = 'asset:card_receivable' THEN cents ELSE -cents END,
            'desk_payment', 'bench-' || id::text, id, ends_at
         FROM paid CROSS JOIN (VALUES ('asset:card_receivable'), ('income:appointments')) v(acct)",
    )
    .bind(clinic_id)
    .bind(pro)
    .bind(&start)
    .execute(&mut *tx)
    .await
    .expect("ledger");
        tx.commit().await.expect("commit");
        sqlx::query("ANALYZE appointments; ANALYZE ledger_entries")
            .execute(&pool)
            .await
            .ok();
        println!(
            "seeded {} paid appointments in {year} in {:.1} s",
            a.appointments,
            seeded.elapsed().as_secs_f64()
        );
    }

    let period = format!("from={year}-01-01&to={year}-12-31");
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r: Value = http
            .get(format!(
                "{}/api/clinics/{clinic}/reports/revenue?{period}",
                a.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("report")
            .json()
            .await
            .expect("report body");
        times.push(t.elapsed());
        println!(
            "  {} postings, net {} centavos",
            r["total"]["count"], r["total"]["net_cents"]
        );
    }
    times.sort();
    println!(
        "report of the year: median {:.2} s (runs {:?})",
        times[1].as_secs_f64(),
        times
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
    );

    let before = a.pid.and_then(rss_kib);
    let t = Instant::now();
    let mut resp = http
        .get(format!(
            "{}/api/clinics/{clinic}/reports/revenue.csv?{period}",
            a.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("csv");
    let (mut bytes, mut peak) = (0usize, before.unwrap_or(0));
    let mut sampled = Instant::now();
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        bytes += chunk.len();
        if sampled.elapsed() > Duration::from_millis(100) {
            if let Some(r) = a.pid.and_then(rss_kib) {
                peak = peak.max(r);
            }
            sampled = Instant::now();
        }
    }
    println!(
        "CSV of the year: {:.1} MB in {:.2} s; server RSS {} KiB before, {} KiB peak while streaming",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        before.map_or("?".into(), |b| b.to_string()),
        if a.pid.is_some() {
            peak.to_string()
        } else {
            "?".into()
        }
    );
}
