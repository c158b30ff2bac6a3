//! The test mailboxes: `tests/support/smtp_sink.py` (aiosmtpd) writes every message it
//! receives to a maildir, and a test app with no SMTP server writes its e-mail to its own
//! (`messaging.mail_dir`, [`crate::helpers::TestApp::mail_dir`]); these helpers find a
//! message in either and read it as a person would (subject, text and HTML bodies decoded).

use std::path::{Path, PathBuf};
use std::time::Duration;

use atende::config::{Secret, Settings, SmtpSecurity};
use base64::Engine as _;

/// Where the test SMTP server listens and writes: `ATENDE_TEST_SMTP` (host:port) and
/// `ATENDE_TEST_MAILDIR`. Unset: the test is skipped with a printed reason — except in CI
/// (`CI=true`), where it fails.
pub fn smtp_server() -> Option<(String, u16, PathBuf)> {
    let addr = std::env::var("ATENDE_TEST_SMTP").unwrap_or_default();
    let dir = std::env::var("ATENDE_TEST_MAILDIR").unwrap_or_default();
    if addr.is_empty() || dir.is_empty() {
        let why = "ATENDE_TEST_SMTP and ATENDE_TEST_MAILDIR are not set (start \
                   tests/support/smtp_sink.py, see docs/operations.md)";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{why}");
        }
        eprintln!("skipped: {why}");
        return None;
    }
    let (host, port) = addr
        .rsplit_once(':')
        .expect("ATENDE_TEST_SMTP is host:port");
    Some((
        host.to_string(),
        port.parse().expect("ATENDE_TEST_SMTP port"),
        PathBuf::from(dir),
    ))
}

/// Settings for an app that sends e-mail to `host:port` (plain SMTP: a local test server),
/// looks for due messages every 100 ms and for due reminders every second.
pub fn smtp_settings(s: &mut Settings, host: &str, port: u16) {
    s.messaging.smtp.host = host.to_string();
    s.messaging.smtp.port = port;
    s.messaging.smtp.security = SmtpSecurity::None;
    s.messaging.smtp.username = String::new();
    s.messaging.smtp.password = Secret::new(String::new());
    s.messaging.smtp.from_address = "nao-responda@atende.test".into();
    s.messaging.smtp.timeout_secs = 5;
    s.messaging.poll_interval_ms = 100;
    s.messaging.reminder_poll_secs = 1;
}

/// The `Message-ID` of an outbox message (the worker derives it from the id).
pub fn message_id(outbox_id: &str) -> String {
    format!("<{}@atende.test>", outbox_id.replace('-', ""))
}

/// One received e-mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub head: String,
    pub text: String,
    pub html: String,
}

impl Mail {
    /// A header's value (unfolded, encoded words decoded), the first of that name.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.head, name).map(|v| decode_words(&v))
    }

    /// The first link in the text body that contains `needle`.
    pub fn link(&self, needle: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with("http") && w.contains(needle))
            .map(str::to_string)
    }
}

fn header_in(head: &str, name: &str) -> Option<String> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`).
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        if !before.trim().is_empty() {
            out.push_str(before);
        }
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        if parts.len() < 3 {
            out.push_str(&rest[start..]);
            return out;
        }
        let Some(end) = parts[2].find("?=") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let text = &parts[2][..end];
        let bytes = if parts[1].eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        } else {
            qp(&text.replace('_', " "))
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        let consumed = start + 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    out
}

/// Quoted-printable to bytes.
fn qp(s: &str) -> Vec<u8> {
    let s = s.replace("=\r\n", "").replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn decode_body(head: &str, body: &str) -> String {
    let cte = header_in(head, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_lowercase();
    match cte.as_str() {
        "quoted-printable" => String::from_utf8_lossy(&qp(body)).into_owned(),
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
            .into_owned()
        }
        _ => body.to_string(),
    }
}

/// Parse a received message: headers, and its text and HTML parts.
pub fn parse(raw: &str) -> Mail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut mail = Mail {
        head: head.to_string(),
        text: String::new(),
        html: String::new(),
    };
    let ctype = header_in(head, "Content-Type").unwrap_or_default();
    let Some(boundary) = ctype
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_string())
    else {
        mail.text = decode_body(head, body);
        return mail;
    };
    for part in body.split(&format!("--{boundary}")) {
        let Some((ph, pb)) = part.trim_start_matches("\r\n").split_once("\r\n\r\n") else {
            continue;
        };
        let pt = header_in(ph, "Content-Type").unwrap_or_default();
        let decoded = decode_body(ph, pb.trim_end_matches("\r\n"));
        if pt.starts_with("text/plain") {
            mail.text = decoded;
        } else if pt.starts_with("text/html") {
            mail.html = decoded;
        }
    }
    mail
}

/// Every message in the maildir whose headers satisfy `want`.
pub fn matching(maildir: &Path, want: &dyn Fn(&Mail) -> bool) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .map(|raw| parse(&raw))
        .filter(|m| want(m))
        .collect()
}

/// Wait (up to 20 s) for a message satisfying `want`; all of those found then.
pub async fn wait_for(maildir: &Path, what: &str, want: impl Fn(&Mail) -> bool) -> Vec<Mail> {
    for _ in 0..200 {
        let found = matching(maildir, &want);
        if !found.is_empty() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no e-mail {what} arrived within 20 s in {}",
        maildir.display()
    );
}

/// The message with this `Message-ID`, once it arrives (exactly one copy).
pub async fn by_message_id(maildir: &Path, outbox_id: &str) -> Mail {
    let id = message_id(outbox_id);
    let found = wait_for(maildir, &id, |m| {
        m.header("Message-ID").as_deref() == Some(id.as_str())
    })
    .await;
    assert_eq!(found.len(), 1, "one copy of {id}");
    found.into_iter().next().expect("one")
}

/// A running copy of the test SMTP server of our own (on `port`, writing to `maildir`),
/// stopped when dropped.
pub struct Sink {
    child: std::process::Child,
}

impl Sink {
    pub async fn start(port: u16, maildir: &Path) -> Sink {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");
        let mut child = std::process::Command::new("python3")
            .arg(script)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--maildir")
            .arg(maildir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs the SMTP sink");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Sink { child };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the SMTP sink did not start on port {port}");
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
