//! The task that owns a connection's socket: it writes the queued frames in order and, on
//! a close signal, flushes what is queued and sends the close frame.

use std::time::Duration;

use actix_ws::CloseReason;
use tokio::sync::{mpsc, oneshot};

use crate::actors::hub::Outgoing;

/// Owns the socket: writes queued frames in order; on a close signal sends the close frame.
pub async fn writer(
    mut ws: actix_ws::Session,
    mut rx: mpsc::Receiver<Outgoing>,
    mut close_rx: oneshot::Receiver<CloseReason>,
) {
    loop {
        tokio::select! {
            biased;
            reason = &mut close_rx => {
                // Flush what is already queued (e.g. the reply explaining the close).
                while let Ok(Outgoing::Text(t)) = rx.try_recv() {
                    if tokio::time::timeout(Duration::from_millis(200), ws.text(t)).await.is_err() {
                        break;
                    }
                }
                close_socket(ws, reason.ok()).await;
                return;
            }
            msg = rx.recv() => {
                let sent = match msg {
                    Some(Outgoing::Text(t)) => tokio::select! {
                        r = ws.text(t) => r.is_ok(),
                        reason = &mut close_rx => {
                            close_socket(ws, reason.ok()).await;
                            return;
                        }
                    },
                    Some(Outgoing::Ping) => ws.ping(b"").await.is_ok(),
                    Some(Outgoing::Pong(b)) => ws.pong(&b).await.is_ok(),
                    None => {
                        let _ = ws.close(None).await;
                        return;
                    }
                };
                if !sent {
                    return;
                }
            }
        }
    }
}

/// Queue the close frame. A client that is not reading (slow consumer) gets it once it
/// reads what is already buffered; one that never reads again is let go after 30 s.
async fn close_socket(ws: actix_ws::Session, reason: Option<CloseReason>) {
    let _ = tokio::time::timeout(Duration::from_secs(30), ws.close(reason)).await;
}
