//! Real `atende serve` processes, for the tests that must kill one (SIGKILL) or run two:
//! an environment (a data directory, a database, shared secrets) from which nodes start,
//! and a small HTTP client to set a clinic up through the API.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{drop_postgres_database, fresh_postgres_database};

/// The password of every account these tests create.
pub const PASSWORD: &str = "uma-senha-de-teste-forte";

/// Where nodes run: one data directory and one database (PostgreSQL when
/// TEST_DATABASE_URL is set, else a SQLite file), the same secrets for every node, and
/// extra settings as environment variables.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: String,
    pub redis: Option<String>,
    pub settings: Vec<(String, String)>,
}

/// A running `atende serve`; killed (SIGKILL) and waited for when dropped.
pub struct Node {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// SIGKILL: no drain, no goodbye.
    pub fn kill(self) {
        drop(self);
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, as an orchestrator stops a node: it drains (its WebSocket clients get 1012
    /// and resume elsewhere) and exits. Its exit status, within 30 s or the test fails.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        sigterm(&self.child);
        exit_within(&mut self.child, Duration::from_secs(30)).await
    }
}

/// Send SIGTERM to a server process (as an orchestrator stopping it would).
pub fn sigterm(child: &Child) {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
}

/// The process's exit status once it exits, within `limit`; past it the process is killed
/// and the test fails.
pub async fn exit_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!(
        "process {} did not exit within {limit:?} of SIGTERM",
        child.id()
    );
}

impl Drop for Env {
    /// Drop the environment's PostgreSQL database (its nodes are gone by then).
    fn drop(&mut self) {
        if let (Some(name), Ok(admin)) = (
            self.db
                .strip_prefix("postgres")
                .and(self.db.rsplit('/').next()),
            std::env::var("TEST_DATABASE_URL"),
        ) {
            drop_postgres_database(admin, name.to_string());
        }
    }
}

impl Env {
    pub async fn new(redis: Option<String>) -> Self {
        let db = match std::env::var("TEST_DATABASE_URL") {
            Ok(admin) if !admin.is_empty() => Some(fresh_postgres_database(&admin).await),
            _ => None,
        };
        Self::on(redis, db).await
    }

    /// An environment on the database `db` (`None`: a SQLite file in its directory).
    pub async fn on(redis: Option<String>, db: Option<String>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db =
            db.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("atende.db").display()));
        let env = Self {
            dir,
            db,
            redis,
            settings: Vec::new(),
        };
        env.run_ok(&["migrate"], None);
        env.run_ok(
            &[
                "admin",
                "create-user",
                "--email",
                "ops@processos.test",
                "--name",
                "Operações",
                "--platform-admin",
            ],
            Some(&format!("{PASSWORD}\n")),
        );
        env
    }

    /// Add a setting (`ATENDE_SECTION__KEY`) for the nodes started from now on.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_atende"));
        c.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ATENDE_DATABASE__URL", &self.db)
            .env(
                "ATENDE_SECURITY__JWT_SECRET",
                "process-test-jwt-secret-0123456789abcdef",
            )
            .env("ATENDE_SECURITY__ENCRYPTION_ACTIVE_KEY", "t1")
            .env(
                "ATENDE_SECURITY__ENCRYPTION_KEYS__T1",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            )
            .env("ATENDE_SECURITY__AUDIT_ACTIVE_KEY", "ta1")
            .env(
                "ATENDE_SECURITY__AUDIT_KEYS__TA1",
                "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
            )
            .env(
                "ATENDE_SECURITY__LOGIN_THROTTLE__MAX_ATTEMPTS_PER_IP",
                "1000",
            )
            .env("ATENDE_LOG__LEVEL", "info");
        if let Some(r) = &self.redis {
            c.env("ATENDE_REDIS__URL", r);
        }
        for (k, v) in &self.settings {
            c.env(k, v);
        }
        c
    }

    /// Run an `atende` command in this environment; its output.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        self.command().args(args).output().expect("run atende")
    }

    fn run_ok(&self, args: &[&str], stdin: Option<&str>) {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn atende");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "atende {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start a node on a free port and wait until it answers.
    pub async fn start(&self) -> Node {
        self.start_with(&[]).await
    }

    /// Start a node with settings of its own on top of the environment's.
    pub async fn start_with(&self, own: &[(&str, &str)]) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = self.dir.path().join(format!("node-{port}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = self.command();
        for (k, v) in own {
            command.env(k, v);
        }
        let child = command
            .env("ATENDE_SERVER__PORT", port.to_string())
            .arg("serve")
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("spawn serve");
        // Killed and waited for on every path, panics included (Drop).
        let node = Node {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http
                .get(format!("{}/health", node.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return node;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("node on {port} did not start: {}", node.log_text());
    }
}

/// POST `body` (with a bearer token), expecting success; the JSON answer.
pub async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST {url}: {status} {body}");
    body
}

/// Log in on `base`; the access token.
pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let s = post(
        http,
        &format!("{base}/api/auth/login"),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    s["access_token"].as_str().expect("token").to_string()
}

/// A clinic created by the platform admin, with a receptionist (`recepcao@<slug>.test`)
/// and a doctor (`medica@<slug>.test`); its id.
pub async fn clinic(http: &reqwest::Client, base: &str, slug: &str, cnpj: &str) -> String {
    let root = login(http, base, "ops@processos.test").await;
    let clinic = post(
        http,
        &format!("{base}/api/clinics"),
        Some(&root),
        json!({
            "name": format!("Clínica {slug}"), "cnpj": cnpj,
            "address": {"street": "Rua das Flores", "number": "10", "district": "Centro",
                        "city": "Curitiba", "uf": "PR", "postal_code": "80020-310"},
        }),
    )
    .await;
    let id = clinic["id"].as_str().expect("clinic id").to_string();
    post(
        http,
        &format!("{base}/api/clinics/{id}/staff"),
        Some(&root),
        json!({"email": format!("recepcao@{slug}.test"), "full_name": "Rita Lima",
               "password": PASSWORD, "role": "receptionist"}),
    )
    .await;
    post(
        http,
        &format!("{base}/api/clinics/{id}/professionals"),
        Some(&root),
        json!({"email": format!("medica@{slug}.test"), "full_name": "Beatriz Nunes",
               "password": PASSWORD, "profession": "doctor", "council": "CRM",
               "council_number": "123456", "council_uf": "PR"}),
    )
    .await;
    id
}
