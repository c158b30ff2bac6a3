//! The `atende` binary itself: migrate, admin create-user, audit verify, and a graceful
//! stop on SIGTERM that tells WebSocket clients to reconnect (1012).

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::processes::{exit_within, sigterm};
use crate::ws_client::{Ended, WsClient};

pub(crate) fn atende(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_atende"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("ATENDE_LOG__LEVEL", "warn");
    c
}

#[test]
fn migrate_create_user_and_audit_verify_work_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = atende(dir.path()).arg("migrate").output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("data/atende.db").exists());

    let mut child = atende(dir.path())
        .args([
            "admin",
            "create-user",
            "--email",
            "ops@clinica.com.br",
            "--name",
            "Operações",
            "--platform-admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"uma-senha-forte\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created user ops@clinica.com.br"));

    let mut child = atende(dir.path())
        .args(["admin", "set-password", "--email", "ops@clinica.com.br"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"outra-senha-forte\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = atende(dir.path())
        .args(["admin", "disable-user", "--email", "ops@clinica.com.br"])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("disabled"));

    let out = atende(dir.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("audit chain intact: 3 rows"), "{text}");

    // A bad setting names its key and exits with status 2.
    let out = atende(dir.path())
        .arg("migrate")
        .env("ATENDE_SERVER__PORT", "muitos")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("port"));
}

/// A server started by a test: killed and reaped when dropped, so a failed assertion never
/// leaves it running (holding its port, its files, and whatever its parent held).
pub(crate) struct Served(std::process::Child);

impl std::ops::Deref for Served {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Start `atende serve --demo` in `dir` on a free port; returns once a demo login works,
/// with the child and a receptionist's access token.
async fn serve_demo(dir: &std::path::Path) -> (Served, u16, String) {
    serve_demo_with(dir, &[]).await
}

/// [`serve_demo`] with extra environment variables.
pub(crate) async fn serve_demo_with(
    dir: &std::path::Path,
    env: &[(String, String)],
) -> (Served, u16, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let child = Served(
        atende(dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(["serve", "--demo"])
            .env("ATENDE_SERVER__PORT", port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..300 {
        if client
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "server did not come up");
    // Demo data is seeded right after the port opens; wait for a demo login to work.
    let mut token = String::new();
    for _ in 0..100 {
        let r = client
            .post(format!("{base}/api/auth/login"))
            .json(&serde_json::json!({"email": "recepcao@aurora.demo", "password": crate::helpers::PW}))
            .send()
            .await
            .expect("login");
        if r.status().is_success() {
            let v: serde_json::Value = r.json().await.expect("json");
            token = v["access_token"].as_str().expect("token").to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!token.is_empty(), "demo login never worked");
    (child, port, token)
}

/// SIGTERM the child and wait for it to exit successfully.
pub(crate) async fn stop(mut child: Served) {
    sigterm(&child);
    let status = exit_within(&mut child, Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn a_stopping_server_anchors_the_audit_head_and_verify_then_detects_a_truncated_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, _, _) = serve_demo(dir.path()).await;
    stop(child).await;
    let anchors = std::fs::read_to_string(dir.path().join("data/audit-anchors.log"))
        .expect("an anchor was written at shutdown");
    let last: serde_json::Value =
        serde_json::from_str(anchors.lines().last().expect("a line")).expect("json");
    let head = last["seq"].as_i64().expect("seq");
    let out = atende(dir.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("audit chain intact: {head} rows"))
            && text.contains("anchor(s) matched"),
        "{text}"
    );

    // Someone with the database but not the anchor file drops the newest two rows.
    let url = format!("sqlite://{}", dir.path().join("data/atende.db").display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("connect");
    sqlx::query("DROP TRIGGER audit_log_no_delete")
        .execute(&mut conn)
        .await
        .expect("drop trigger");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM audit_log WHERE seq >= {}",
        head - 1
    )))
    .execute(&mut conn)
    .await
    .expect("delete");
    drop(conn);
    let out = atende(dir.path())
        .args(["audit", "verify"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("audit chain BROKEN at row {}", head - 1))
            && text.contains("truncated"),
        "{text}"
    );
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn sigterm_closes_websockets_with_1012_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, port, token) = serve_demo(dir.path()).await;
    let mut ws = WsClient::connect(&format!("ws://127.0.0.1:{port}/ws"))
        .await
        .expect("ws");
    let r = ws
        .request("system", "auth", serde_json::json!({"token": token}))
        .await;
    assert_eq!(r["payload"]["status"], "ok");

    sigterm(&child);
    assert_eq!(
        ws.ended(Duration::from_secs(10)).await,
        Ended::Closed(Some(1012))
    );
    let status = exit_within(&mut child, Duration::from_secs(15)).await;
    assert!(status.success(), "exit status {status}");
}

/// `atende admin disable-user` and `set-password` run in a process of their own, with no
/// bus to the running server: the server still closes the user's sockets within a second
/// (its revocation watch reads the revoked sessions from the database).
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn disabling_a_user_or_setting_a_password_from_the_command_line_closes_their_sockets() {
    let app = crate::helpers::spawn_app().await;
    app.seed_demo().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str], stdin: &'static [u8]| {
        let mut cmd = atende(dir.path());
        // Run with the server's keys, as an operator runs it with the server's
        // configuration: account names are sealed under them.
        cmd.env("ATENDE_DATABASE__URL", &app.db_url)
            .env(
                "ATENDE_SECURITY__ENCRYPTION_KEYS__T1",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            )
            .env("ATENDE_SECURITY__ENCRYPTION_ACTIVE_KEY", "t1")
            .env(
                "ATENDE_SECURITY__AUDIT_KEYS__TA1",
                "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
            )
            .env("ATENDE_SECURITY__AUDIT_ACTIVE_KEY", "ta1")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        async move {
            let mut child = tokio::process::Command::from(cmd).spawn().expect("spawn");
            let mut input = child.stdin.take().expect("stdin");
            tokio::io::AsyncWriteExt::write_all(&mut input, stdin)
                .await
                .expect("write");
            drop(input);
            let out = child.wait_with_output().await.expect("wait");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    for (email, args, stdin) in [
        (
            "recepcao@aurora.demo",
            ["admin", "disable-user", "--email", "recepcao@aurora.demo"],
            &b""[..],
        ),
        (
            "recepcao@boavista.demo",
            ["admin", "set-password", "--email", "recepcao@boavista.demo"],
            &b"outra-senha-forte\n"[..],
        ),
    ] {
        let s = app.login(email, crate::helpers::PW).await;
        let mut ws = app.ws(&s).await;
        ws.join(&format!("user:{}", s.me["id"].as_str().expect("id")), None)
            .await;
        let said = run(&args, stdin).await;
        assert!(said.contains("1 session(s) ended"), "{said}");
        assert_eq!(
            ws.ended(Duration::from_secs(5)).await,
            Ended::Closed(Some(1008)),
            "{email}"
        );
    }
}

#[test]
fn keys_status_rotate_and_reindex_run_from_the_command_line_and_refuse_to_run_without_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No key configured and no secrets.toml: a key made up now could open nothing.
    let out = atende(dir.path())
        .args(["keys", "status"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no encryption key"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let with_key = |args: &[&str]| {
        atende(dir.path())
            .args(args)
            .env(
                "ATENDE_SECURITY__ENCRYPTION_KEYS__K7",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            )
            .env("ATENDE_SECURITY__ENCRYPTION_ACTIVE_KEY", "k7")
            .output()
            .expect("run")
    };
    let out = with_key(&["keys", "rotate", "--batch", "10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 value(s) now under the active key k7")
    );
    let out = with_key(&["keys", "status"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 value(s) not under the active key k7")
    );
    // Reindexing needs the secret the blind indexes are keyed by.
    let out = with_key(&["keys", "reindex"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no security.jwt_secret"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = atende(dir.path())
        .args(["keys", "reindex", "--batch", "10"])
        .env(
            "ATENDE_SECURITY__ENCRYPTION_KEYS__K7",
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .env("ATENDE_SECURITY__ENCRYPTION_ACTIVE_KEY", "k7")
        .env(
            "ATENDE_SECURITY__JWT_SECRET",
            "cli-jwt-secret-0123456789-abcdefghijklmn",
        )
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 patient record(s) reindexed"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `atende config check` reads the configuration as `serve` would and starts nothing;
/// `atende health` answers for a running node's readiness (the image's HEALTHCHECK).
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn config_check_names_what_is_wrong_and_health_follows_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = atende(dir.path())
        .args(["config", "check", "--offline"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("configuration OK") && text.contains("backup.key is empty"),
        "{text}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "config check creates nothing"
    );

    // A secret file that cannot be read, and a bad key, stop at loading (status 2).
    let out = atende(dir.path())
        .args(["config", "check"])
        .env("ATENDE_BACKUP__KEY_FILE", dir.path().join("sem-chave"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("sem-chave"));
    let out = atende(dir.path())
        .args(["config", "check"])
        .env("ATENDE_BACKUP__KEY", "curta")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backup.key"));

    // A database that does not answer is a problem (status 1), named.
    let out = atende(dir.path())
        .args(["config", "check"])
        .env(
            "ATENDE_DATABASE__URL",
            "postgres://ninguem@127.0.0.1:1/atende",
        )
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("PROBLEM  database"), "{text}");

    let key_file = dir.path().join("backup.key");
    std::fs::write(&key_file, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n").expect("key");
    let (child, port, _) = serve_demo(dir.path()).await;
    let out = atende(dir.path())
        .args(["config", "check"])
        .env("ATENDE_BACKUP__KEY_FILE", &key_file)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("database (sqlite) reachable")
            && text.contains("backup.key is set")
            && text.contains("secrets: from"),
        "{text}"
    );
    let health = || {
        atende(dir.path())
            .arg("health")
            .env("ATENDE_SERVER__PORT", port.to_string())
            .output()
            .expect("run")
    };
    assert!(health().status.success());
    stop(child).await;
    assert_eq!(health().status.code(), Some(1));
}

/// `atende migrate --check` changes nothing and tells a rolling update where the schema
/// stands: 3 while migrations are pending, 0 once applied, 4 when a newer release migrated
/// the database (versions this binary does not know).
#[actix_web::rt::test(system = "atende::runtime::System")]
async fn migrate_check_reports_pending_current_and_newer_schemas_without_changing_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = || {
        atende(dir.path())
            .args(["migrate", "--check"])
            .output()
            .expect("run")
    };
    let out = check();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("pending: 20261123000001"), "{text}");
    // Checking twice changes nothing: still pending.
    assert_eq!(check().status.code(), Some(3));

    let out = atende(dir.path()).arg("migrate").output().expect("run");
    assert!(out.status.success());
    let out = check();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("schema is current"), "{text}");
    assert!(!text.contains("pending:"), "{text}");

    // A newer release applied a migration this binary does not know.
    let url = format!("sqlite://{}", dir.path().join("data/atende.db").display());
    let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("connect");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time)
         VALUES (29991231000000, 'from the future', CURRENT_TIMESTAMP, 1, x'00', 0)",
    )
    .execute(&mut c)
    .await
    .expect("future migration");
    let out = check();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("29991231000000"), "{text}");
}
