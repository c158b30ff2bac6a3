//! Issue #18's benchmark against the WhatsApp contract server (run by hand:
//! `ATENDE_BENCH=1`): 10,000 reminders fall due at the same instant and one node, or two on
//! one PostgreSQL database (`ATENDE_BENCH_NODES=2`), send them to Meta's Cloud API as
//! served by `meta.rs` in this process. The driver is the e-mail benchmark's
//! (`mail::burst`); here each reminder must reach the server exactly once (by its confirm
//! button's payload, which names its appointment) and none be refused.

use std::collections::HashMap;

use super::meta::Meta;
use super::whatsapp_settings;
use crate::mail::burst::{bench_nodes, reminders_due_at_once};

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn bench_ten_thousand_reminders_due_at_once_to_whatsapp() {
    if std::env::var("ATENDE_BENCH").as_deref() != Ok("1") {
        eprintln!("skipped: a benchmark (set ATENDE_BENCH=1 to run it)");
        return;
    }
    let meta = Meta::start().await;
    let apps = bench_nodes(|s| {
        whatsapp_settings(s, &meta);
        s.messaging.mail_dir = String::new();
    })
    .await;
    let burst = reminders_due_at_once(&apps, "whatsapp").await;
    assert!(meta.refused().is_empty(), "{:?}", &meta.refused()[..1]);
    let mut copies: HashMap<String, usize> = HashMap::new();
    for r in meta.received() {
        let confirm = super::payloads(&r.body)
            .into_iter()
            .next()
            .expect("a confirm button");
        *copies.entry(confirm).or_default() += 1;
    }
    assert_eq!(copies.len(), burst.ids.len(), "every reminder reached Meta");
    assert_eq!(copies.values().filter(|c| **c > 1).count(), 0, "none twice");
    println!(
        "{}; each once at the contract server",
        burst.report(
            apps.len(),
            &format!(
                "WhatsApp contract server, batches of {} per node",
                std::env::var("ATENDE_BENCH_BATCH").unwrap_or_else(|_| "50".into())
            )
        )
    );
    drop(apps);
}
