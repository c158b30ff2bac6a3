//! The login limits hold across nodes: two nodes on one database and one Redis count
//! against one budget (issue #16, "abuse limits"), and a check and its count are one step,
//! so concurrent attempts on both nodes cannot all take the last free place.

use atende::config::{Secret, Settings};
use reqwest::StatusCode;

use crate::helpers::*;
use crate::multinode::redis_url;

fn limits(redis: &str, per_address: u32) -> impl Fn(&mut Settings) + '_ {
    move |s: &mut Settings| {
        s.redis.url = Secret::new(redis.to_string());
        s.security.login_throttle.max_attempts_per_ip = per_address;
        s.security.login_throttle.ip_window_secs = 600;
        s.security.login_throttle.max_failures_per_account = 3;
        s.security.login_throttle.account_window_secs = 600;
    }
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn two_nodes_share_one_budget_of_login_attempts_per_address() {
    let Some(redis) = redis_url() else { return };
    let node1 = spawn_node(None, limits(&redis, 10)).await;
    let node2 = spawn_node(Some(node1.db_url.clone()), limits(&redis, 10)).await;
    // Twenty attempts at once, half on each node, from one address (the tests' loopback),
    // for accounts nobody has.
    let attempts = (0..20).map(|i| {
        let node = if i % 2 == 0 { &node1 } else { &node2 };
        let email = format!("ninguem-{i}-{}@example.test", uuid::Uuid::new_v4().simple());
        async move { node.login_response(&email, "senha errada").await }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let checked = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(
        (checked, refused.len()),
        (10, 10),
        "ten passwords checked in all, not ten per node: {:?}",
        answers.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    for r in refused {
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=600).contains(&wait), "Retry-After {wait}");
    }
    // Another installation on the same Redis keeps its own budget.
    let other = spawn_node(None, limits(&redis, 10)).await;
    let resp = other
        .login_response("ninguem@example.test", "senha errada")
        .await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn failed_logins_on_one_node_slow_the_account_down_on_the_other() {
    let Some(redis) = redis_url() else { return };
    let node1 = spawn_node(None, limits(&redis, 1000)).await;
    let node2 = spawn_node(Some(node1.db_url.clone()), limits(&redis, 1000)).await;
    node1.seed_demo().await;
    let email = "recepcao@aurora.demo";
    for _ in 0..3 {
        let resp = node1.login_response(email, "senha errada").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password waits, on the node that saw none of the failures.
    let resp = node2.login_response(email, PW).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
}

/// The node's `atende_throttle_fallbacks_total`.
async fn fallbacks(node: &TestApp) -> f64 {
    node.metric("atende_throttle_fallbacks_total")
        .await
        .unwrap_or(0.0)
}

/// Wait until a throttled request (a miss at the public document lookup, whose budget
/// the test leaves large) no longer falls back to the node's memory.
async fn until_counting_in_redis(node: &TestApp) {
    for _ in 0..100 {
        let before = fallbacks(node).await;
        let probe = node.get("/api/public/documents/AAAAA-BBBBB", None).await;
        assert_eq!(probe.status(), StatusCode::NOT_FOUND);
        if fallbacks(node).await == before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the node never counted in Redis again");
}

/// The statuses of `n` failed logins from the tests' address on `node`, one after another.
async fn failed_logins(node: &TestApp, n: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        let email = format!("ninguem-{}@example.test", uuid::Uuid::new_v4().simple());
        statuses.push(node.login_response(&email, "senha errada").await.status());
    }
    statuses
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn with_redis_cut_off_each_node_counts_on_its_own_and_says_so_then_the_budget_is_shared_again()
 {
    let Some(redis) = redis_url() else { return };
    let proxy = crate::bus_fallback::Proxy::start(&redis).await;
    let settings = |s: &mut Settings| {
        limits(&proxy.url, 4)(s);
        s.security.limits.verification_misses_per_address = 1000;
    };
    let node1 = spawn_node(None, settings).await;
    let node2 = spawn_node(Some(node1.db_url.clone()), settings).await;
    use StatusCode as S;
    const CHECKED: S = S::UNAUTHORIZED;
    const REFUSED: S = S::TOO_MANY_REQUESTS;

    // Redis unreachable: the limit still holds, counted in each node's memory (so each node
    // has the whole budget), and each node counts the fallbacks.
    proxy.cut();
    assert_eq!(
        failed_logins(&node1, 5).await,
        [CHECKED, CHECKED, CHECKED, CHECKED, REFUSED]
    );
    assert_eq!(
        failed_logins(&node2, 5).await,
        [CHECKED, CHECKED, CHECKED, CHECKED, REFUSED]
    );
    for node in [&node1, &node2] {
        let fallbacks = fallbacks(node).await;
        assert!(fallbacks >= 5.0, "{fallbacks} fallbacks");
    }

    // Redis back: once each node's connection to it is up again (its connection manager
    // reconnects after a failed command), one budget for both nodes again, which the
    // attempts counted in memory meanwhile did not spend.
    proxy.restore();
    for node in [&node1, &node2] {
        until_counting_in_redis(node).await;
    }
    let mut statuses = Vec::new();
    for i in 0..5 {
        let node = if i % 2 == 0 { &node1 } else { &node2 };
        statuses.extend(failed_logins(node, 1).await);
    }
    assert_eq!(statuses, [CHECKED, CHECKED, CHECKED, CHECKED, REFUSED]);
}
