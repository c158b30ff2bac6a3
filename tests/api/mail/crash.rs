//! A node killed (SIGKILL) in the middle of a burst of e-mails: the real `atende serve`
//! drains the outbox to a test SMTP server of our own, dies, starts again, and every message
//! ends `sent` and in the maildir. What can go twice, and why, is counted: a message the
//! server accepted whose `sent` the dead node had not committed yet (SMTP has no way to ask
//! the server whether it already has a message); its copies carry one `Message-ID`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use super::mailbox::*;
use super::queue_resets;
use crate::helpers::*;
use crate::processes::Env;

/// Messages of the burst.
const BURST: usize = 300;
/// Messages a node claims per look (the most it can have accepted but not yet recorded).
const BATCH: usize = 20;

/// The files in the maildir, by `Message-ID`.
fn received(maildir: &Path) -> HashMap<String, usize> {
    let mut by_id = HashMap::new();
    for m in matching(maildir, &|_| true) {
        if let Some(id) = m.header("Message-ID") {
            *by_id.entry(id).or_default() += 1;
        }
    }
    by_id
}

fn files(maildir: &Path) -> usize {
    std::fs::read_dir(maildir.join("new")).map_or(0, |d| d.count())
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_node_killed_mid_burst_loses_no_email_and_repeats_only_what_it_had_not_recorded() {
    let Some(_) = smtp_server() else {
        return;
    };
    let port = free_port();
    let mail = tempfile::tempdir().expect("maildir");
    let _sink = Sink::start(port, mail.path()).await;
    let env = Env::new(None)
        .await
        .set("ATENDE_MESSAGING__SMTP__HOST", "127.0.0.1")
        .set("ATENDE_MESSAGING__SMTP__PORT", &port.to_string())
        .set("ATENDE_MESSAGING__SMTP__SECURITY", "none")
        .set(
            "ATENDE_MESSAGING__SMTP__FROM_ADDRESS",
            "nao-responda@atende.test",
        )
        .set("ATENDE_MESSAGING__POLL_INTERVAL_MS", "50")
        .set("ATENDE_MESSAGING__BATCH_SIZE", &BATCH.to_string())
        // The restarted node takes over the dead one's messages this soon.
        .set("ATENDE_MESSAGING__LEASE_SECS", "3");

    // The burst, written by a process of ours on the same database and keys (it has no
    // e-mail channel, neither SMTP nor a maildir: it sends nothing).
    let writer = spawn_node(Some(env.db.clone()), |s| {
        s.messaging.mail_dir = String::new()
    })
    .await;
    let store = &writer.state.store;
    let mut tx = store.begin().await.expect("tx");
    let ids = queue_resets(&writer, &mut tx, BURST, |n| format!("p{n}@example.test")).await;
    tx.commit().await.expect("commit");
    let created: HashMap<String, uuid::Uuid> = ids
        .iter()
        .map(|i| (message_id(&i.to_string()), *i))
        .collect();

    // The node drains it; a third of the way through, in the middle of a batch, SIGKILL.
    let node = env.start().await;
    let start = Instant::now();
    while files(mail.path()) < BURST / 3 + BATCH / 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the burst did not start: {}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    node.kill();
    // What the server had by then (a message whose content was on the wire finishes).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_kill = received(mail.path());
    let statuses = |store: &atende::store::Store| {
        let store = store.clone();
        async move {
            let mut by: HashMap<String, i64> = HashMap::new();
            for c in store.outbox_counts().await.expect("counts") {
                *by.entry(c.status).or_default() += c.count;
            }
            by
        }
    };
    let then = statuses(store).await;
    let sent_then = then.get("sent").copied().unwrap_or(0) as usize;
    // Accepted by the server but not recorded as sent: the only ones that may go twice.
    let window = at_kill.len().saturating_sub(sent_then);
    assert!(
        at_kill.len() < BURST,
        "the kill fell mid-burst ({} of {BURST} received)",
        at_kill.len()
    );
    assert!(
        window <= BATCH,
        "at most one batch accepted and not recorded: {window} ({then:?})"
    );

    // Started again, the node sends the rest.
    let node = env.start().await;
    let start = Instant::now();
    loop {
        let now = statuses(store).await;
        if now.get("sent").copied().unwrap_or(0) as usize == BURST {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "not all sent after the restart: {now:?}\n{}",
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = received(mail.path());
    let ours: HashSet<&String> = after.keys().filter(|k| created.contains_key(*k)).collect();
    assert_eq!(ours.len(), BURST, "every message reached the server");
    assert_eq!(after.len(), BURST, "nothing else reached it");
    let twice: Vec<&String> = after
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    assert!(
        after.values().all(|n| *n <= 2),
        "no message more than twice"
    );
    assert!(
        twice.len() <= window,
        "only messages accepted but not recorded at the kill go twice: {} > {window}",
        twice.len()
    );
    for id in &twice {
        assert!(
            at_kill.contains_key(*id),
            "{id} went twice though the server did not have it at the kill"
        );
    }
    eprintln!(
        "kill -9 after {} of {BURST} e-mails reached the server ({sent_then} recorded sent): \
         {window} accepted but not recorded, {} sent twice after the restart, none lost",
        at_kill.len(),
        twice.len()
    );
    drop(node);
    drop(writer);
}
