//! SMTP sessions kept open between messages: a node sends many e-mails over a few long-lived
//! connections (one transaction after another, as RFC 5321 allows) instead of opening,
//! greeting (EHLO, STARTTLS, AUTH) and closing one per message — that cost more than the
//! message itself (docs/performance.md, "Outbox delivery").
//!
//! Why not lettre's own pool (`pool` feature): dropping it spawns a task, which panics when
//! the drop happens outside the Tokio runtime — as it does when the actix system that ran
//! the delivery worker stops at the end of a test. These sessions are plain values: dropping
//! one closes its socket and spawns nothing.
//!
//! What each message's bookkeeping relies on: a session is reused only after a transaction
//! that ended with the server's `250`; any other outcome closes it. A message whose
//! transaction failed *before* the server was handed its content (MAIL, RCPT or DATA refused,
//! or a reused session found closed) was not delivered, so it is tried again at once on a
//! new session; once the content went out, a failure is reported as it is (the server may
//! have it), and the outbox's retry takes over.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use super::SendError;
use crate::config::{SmtpSecurity, SmtpSettings};

/// An idle session older than this is closed rather than reused: servers drop idle clients
/// after a while (RFC 5321 asks them to wait at least 5 minutes; some wait less).
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// How to open a session with the configured server.
struct Server {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
}

/// A session not in use, and since when.
struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

/// The sessions of one node with one SMTP server: at most `connections` open at once,
/// each reused for message after message.
pub struct Sessions {
    server: Server,
    idle: Mutex<Vec<Idle>>,
    /// One permit per session that may be in use at once; a send waits for one.
    permits: tokio::sync::Semaphore,
}

/// How a transaction failed: the error, and whether the server had been handed the
/// message's content (then it may have taken it).
struct Failure {
    error: SendError,
    handed_over: bool,
}

impl Sessions {
    /// Sessions with the configured server (none opens before the first send).
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Self> {
        let tls_params = || {
            TlsParameters::new(s.host.clone())
                .map_err(|e| anyhow::anyhow!("messaging.smtp.host: {e}"))
        };
        let tls = match s.security {
            SmtpSecurity::Starttls => Tls::Required(tls_params()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_params()?),
            SmtpSecurity::None => Tls::None,
        };
        let credentials = (!s.username.is_empty())
            .then(|| Credentials::new(s.username.clone(), s.password.expose().clone()));
        let connections = s.connections.max(1) as usize;
        Ok(Self {
            server: Server {
                host: s.host.clone(),
                port: s.port,
                tls,
                credentials,
                hello: ClientId::default(),
                timeout: Duration::from_secs(s.timeout_secs.max(1)),
            },
            idle: Mutex::new(Vec::with_capacity(connections)),
            permits: tokio::sync::Semaphore::new(connections),
        })
    }

    /// Send one message (`bytes`, as formatted) to `envelope`'s recipients.
    pub async fn send(&self, envelope: &Envelope, bytes: &[u8]) -> Result<(), SendError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendError::transient("the SMTP sessions are closed"))?;
        let timeout = self.server.timeout;
        let mut reused = self.take_idle().await;
        loop {
            let (mut conn, was_reused) = match reused.take() {
                Some(c) => (c, true),
                None => {
                    let opened = tokio::time::timeout(timeout, self.server.open())
                        .await
                        .map_err(|_| SendError::transient("SMTP connection timed out"))?;
                    (opened.map_err(classify)?, false)
                }
            };
            match tokio::time::timeout(timeout, transact(&mut conn, envelope, bytes)).await {
                Ok(Ok(())) => {
                    self.park(conn);
                    return Ok(());
                }
                Ok(Err(f)) => {
                    self.close(conn).await;
                    // A reused session the server had closed meanwhile: nothing was
                    // delivered, so the message goes at once on a new one.
                    if was_reused && !f.handed_over && !f.error.permanent {
                        tracing::debug!(error = %f.error, "SMTP session was closed; opening another");
                        continue;
                    }
                    return Err(f.error);
                }
                Err(_) => {
                    // Dropped, not reused: its state is unknown.
                    return Err(SendError::transient("SMTP exchange timed out"));
                }
            }
        }
    }

    /// The most recently parked session still young enough; older ones are closed.
    async fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        loop {
            let idle = self.idle.lock().ok()?.pop()?;
            if idle.since.elapsed() < IDLE_LIMIT {
                return Some(idle.conn);
            }
            self.close(idle.conn).await;
        }
    }

    /// QUIT and close, waiting no longer than the timeout (a hung server may never answer).
    async fn close(&self, mut conn: AsyncSmtpConnection) {
        let _ = tokio::time::timeout(self.server.timeout, conn.abort()).await;
    }

    /// Keep a session for the next message.
    fn park(&self, conn: AsyncSmtpConnection) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }
}

impl Server {
    /// Connect, greet, secure (STARTTLS when required) and authenticate.
    async fn open(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let wrapper = match &self.tls {
            Tls::Wrapper(p) => Some(p.clone()),
            _ => None,
        };
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(self.timeout),
            &self.hello,
            wrapper,
            None,
        )
        .await?;
        if let Tls::Required(p) = &self.tls {
            // Refuses (and sends nothing more) when the server does not offer STARTTLS.
            conn.starttls(p.clone(), &self.hello).await?;
        }
        if let Some(c) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, c).await?;
        }
        Ok(conn)
    }
}

/// One mail transaction on an open session: MAIL, RCPT for each recipient, DATA, then the
/// content (lettre's `AsyncSmtpConnection::send`, in steps, so that a failure says whether
/// the content had gone out).
async fn transact(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
    bytes: &[u8],
) -> Result<(), Failure> {
    let before = |e: SmtpError| Failure {
        error: classify(e),
        handed_over: false,
    };
    let mut params = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure {
                error: SendError::permanent(
                    "the address is not ASCII and the SMTP server does not take SMTPUTF8",
                ),
                handed_over: false,
            });
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if !bytes.is_ascii() {
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), params))
        .await
        .map_err(before)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .await
            .map_err(before)?;
    }
    conn.command(Data).await.map_err(before)?;
    // One write, not lettre's two (`message` writes the content, then the final dot): on
    // a kept session the second small write waited for the server's delayed ACK (Nagle),
    // ~40 ms a message, which capped a session at ~25 messages/s.
    let sent = match std::str::from_utf8(bytes) {
        Ok(text) => conn.command(DataBlock(text)).await,
        Err(_) => conn.message(bytes).await,
    };
    sent.map_err(|e| Failure {
        error: classify(e),
        handed_over: true,
    })?;
    Ok(())
}

/// A message's content as the DATA phase carries it (RFC 5321 4.5.2): a line that starts
/// with a dot gets another, and the content ends with `CRLF . CRLF`.
struct DataBlock<'a>(&'a str);

impl std::fmt::Display for DataBlock<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        let mut line_start = true;
        let mut prev = '\0';
        for c in self.0.chars() {
            if line_start && c == '.' {
                f.write_char('.')?;
            }
            f.write_char(c)?;
            line_start = prev == '\r' && c == '\n';
            prev = c;
        }
        f.write_str("\r\n.\r\n")
    }
}

/// A 5xx (or a message lettre refuses to send) is for good; anything else may pass later.
fn classify(e: SmtpError) -> SendError {
    if e.is_permanent() {
        SendError::permanent(e.to_string())
    } else {
        SendError::transient(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::DataBlock;

    #[test]
    fn a_data_block_doubles_leading_dots_and_ends_with_a_lone_dot() {
        assert_eq!(
            DataBlock(".a\r\nb.\r\n..c\nd\n.e").to_string(),
            "..a\r\nb.\r\n...c\nd\n.e\r\n.\r\n"
        );
    }
}
