//! Redis unreachable (the nodes' connections to it cut by a proxy, Redis itself untouched):
//! each node says so in /health and keeps its clients live by reading the other nodes'
//! events from the database; when Redis answers again the bus carries them once more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use atende::config::Secret;
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::*;
use crate::multinode::redis_url;

/// A TCP proxy in front of Redis that can cut every connection and refuse new ones.
pub(crate) struct Proxy {
    pub(crate) url: String,
    cut: Arc<AtomicBool>,
    links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub(crate) async fn start(redis: &str) -> Self {
        let upstream = redis
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap_or("127.0.0.1:6379")
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("redis://{}", listener.local_addr().expect("addr"));
        let cut = Arc::new(AtomicBool::new(false));
        let links: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (c, l) = (cut.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                l.lock().expect("links").push(link);
            }
        });
        Self { url, cut, links }
    }

    /// Cut every open connection and refuse new ones.
    pub(crate) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    pub(crate) fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

async fn health(app: &TestApp) -> Value {
    json_of(app.get("/health", None).await).await.1
}

/// Wait until both nodes report `bus_ok == want`.
async fn bus_ok_on_both(a: &TestApp, b: &TestApp, want: bool) {
    for _ in 0..150 {
        let (ha, hb) = (health(a).await, health(b).await);
        if ha["bus_ok"] == want && hb["bus_ok"] == want {
            let status = if want { "ok" } else { "degraded" };
            assert_eq!(ha["status"], status, "{ha}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "bus_ok never became {want}: {} {}",
        health(a).await,
        health(b).await
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn with_redis_cut_off_nodes_follow_each_other_through_the_database_then_resume() {
    let Some(redis) = redis_url() else { return };
    let proxy = Proxy::start(&redis).await;
    let url = proxy.url.clone();
    let node1 = spawn_node(None, |s| {
        s.redis.url = Secret::new(url.clone());
        s.redis.fallback_poll_ms = 100;
    })
    .await;
    let url = proxy.url.clone();
    let node2 = spawn_node(Some(node1.db_url.clone()), |s| {
        s.redis.url = Secret::new(url);
        s.redis.fallback_poll_ms = 100;
    })
    .await;
    let f = chat_fixture(&node1).await;
    let mut sender = node1.ws(&f.helena).await;
    let mut reader = node2.ws(&f.joao).await;
    sender.join(&f.topic, None).await;
    reader.join(&f.topic, None).await;
    sender.say(&f.topic, "antes").await;
    assert_eq!(
        reader.push("chat.message").await["payload"]["body"],
        "antes"
    );
    bus_ok_on_both(&node1, &node2, true).await;

    // Redis unreachable: said in /health, and messages still cross, in order.
    proxy.cut();
    bus_ok_on_both(&node1, &node2, false).await;
    for i in 0..5 {
        sender.say(&f.topic, &format!("durante {i}")).await;
    }
    for i in 0..5 {
        let p = reader.push("chat.message").await;
        assert_eq!(p["payload"]["body"], format!("durante {i}"), "{p}");
    }

    // Redis back: healthy again, and the bus carries messages.
    proxy.restore();
    bus_ok_on_both(&node1, &node2, true).await;
    sender.say(&f.topic, "depois").await;
    assert_eq!(
        reader.push("chat.message").await["payload"]["body"],
        "depois"
    );
    assert!(
        reader
            .try_push("chat.message", Duration::from_millis(500))
            .await
            .is_none(),
        "nothing twice"
    );
}
