//! A small WebSocket test client speaking atende's protocol.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct WsClient {
    stream: Stream,
    next_ref: u64,
    /// Frames received while waiting for something else.
    inbox: VecDeque<Value>,
}

/// How a connection ended, as seen by the client.
#[derive(Debug, PartialEq)]
pub enum Ended {
    Closed(Option<u16>),
    Dropped,
}

impl WsClient {
    pub async fn connect(url: &str) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let (stream, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Self {
            stream,
            next_ref: 0,
            inbox: VecDeque::new(),
        })
    }

    /// Connect with a small, fixed receive buffer (no kernel autotuning, which on loopback
    /// can grow to tens of MB): a client that stops reading then fills up quickly.
    pub async fn connect_small_buffer(url: &str) -> Self {
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .expect("host:port")
            .parse::<std::net::SocketAddr>()
            .expect("socket address");
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_recv_buffer_size(64 * 1024).expect("SO_RCVBUF");
        let tcp = socket.connect(addr).await.expect("tcp connect");
        let (stream, _) =
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("websocket handshake");
        Self {
            stream,
            next_ref: 0,
            inbox: VecDeque::new(),
        }
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream
            .send(Message::Text(text.into()))
            .await
            .expect("send");
    }

    /// Send a frame; returns its ref.
    pub async fn send(&mut self, topic: &str, event: &str, payload: Value) -> String {
        self.next_ref += 1;
        let r = self.next_ref.to_string();
        self.send_text(
            json!({"ref": r, "topic": topic, "event": event, "payload": payload}).to_string(),
        )
        .await;
        r
    }

    /// Next text frame as JSON, or None on close/timeout.
    async fn read(&mut self, wait: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(wait, self.stream.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(t) => return serde_json::from_str(&t).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Send and wait for the reply with the same ref; pushes meanwhile are kept.
    pub async fn request(&mut self, topic: &str, event: &str, payload: Value) -> Value {
        let r = self.send(topic, event, payload).await;
        self.reply_to(&r).await
    }

    pub async fn reply_to(&mut self, r: &str) -> Value {
        if let Some(i) = self.inbox.iter().position(|f| f["ref"] == r) {
            return self.inbox.remove(i).expect("present");
        }
        loop {
            let f = self
                .read(Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("no reply to ref {r}"));
            if f["event"] == "reply" && f["ref"] == r {
                return f;
            }
            self.inbox.push_back(f);
        }
    }

    /// The next push with this event name (earlier ones kept in order).
    pub async fn push(&mut self, event: &str) -> Value {
        self.try_push(event, Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("no {event} push"))
    }

    pub async fn try_push(&mut self, event: &str, wait: Duration) -> Option<Value> {
        if let Some(i) = self.inbox.iter().position(|f| f["event"] == event) {
            return self.inbox.remove(i);
        }
        loop {
            let f = self.read(wait).await?;
            if f["event"] == event {
                return Some(f);
            }
            self.inbox.push_back(f);
        }
    }

    /// The payload of the next push with this event name whose payload satisfies `want`
    /// (others are kept for later).
    pub async fn push_matching(&mut self, event: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self
            .inbox
            .iter()
            .position(|f| f["event"] == event && want(&f["payload"]))
        {
            return self.inbox.remove(i).expect("present")["payload"].clone();
        }
        loop {
            let f = self
                .read(Duration::from_secs(10))
                .await
                .unwrap_or_else(|| panic!("no matching {event} push"));
            if f["event"] == event && want(&f["payload"]) {
                return f["payload"].clone();
            }
            self.inbox.push_back(f);
        }
    }

    /// Join a topic; panics unless the reply is ok. Returns the response.
    pub async fn join(&mut self, topic: &str, since: Option<i64>) -> Value {
        let payload = match since {
            Some(s) => json!({"since": s}),
            None => json!({}),
        };
        let reply = self.request(topic, "join", payload).await;
        assert_eq!(reply["payload"]["status"], "ok", "join {topic}: {reply}");
        reply["payload"]["response"].clone()
    }

    /// Send a chat message and return the reply's response.
    pub async fn say(&mut self, topic: &str, body: &str) -> Value {
        let reply = self
            .request(
                topic,
                "message.send",
                json!({"client_id": uuid::Uuid::now_v7(), "body": body}),
            )
            .await;
        assert_eq!(reply["payload"]["status"], "ok", "{reply}");
        reply["payload"]["response"].clone()
    }

    /// Wait until the server ends the connection; report the close code.
    pub async fn ended(&mut self, wait: Duration) -> Ended {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => panic!("connection still open after {wait:?}"),
                Ok(None) | Ok(Some(Err(_))) => return Ended::Dropped,
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Ended::Closed(frame.map(|f| u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// How the connection ended, if it ends within `wait` (frames meanwhile are kept).
    pub async fn ended_within(&mut self, wait: Duration) -> Option<Ended> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.stream.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => return Some(Ended::Dropped),
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Some(Ended::Closed(frame.map(|f| u16::from(f.code))));
                }
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Ok(v) = serde_json::from_str(&t) {
                        self.inbox.push_back(v);
                    }
                }
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Send a close frame and read until the server closes too (a clean close: no reset, so
    /// everything sent before reaches the server).
    pub async fn close_cleanly(mut self) {
        let _ = self
            .stream
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = self.stream.next().await {}
        })
        .await;
    }

    pub async fn close(mut self) {
        let _ = self
            .stream
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "".into(),
            }))
            .await;
    }

    /// Forget frames received so far.
    pub fn clear_inbox(&mut self) {
        self.inbox.clear();
    }

    /// Do not read for a while (so no pong answers the server's pings).
    pub async fn go_silent(&mut self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}
