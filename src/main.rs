//! The `atende` command: serve, migrate, demo data and admin tasks. All work lives in the
//! library; this file only parses arguments.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use atende::app::auth::{create_user, reset_password, set_account_disabled};
use atende::config::Settings;
use atende::domain::{Email, Password, PersonName};
use atende::security::audit::{AnchorLog, ChainReport};
use atende::startup::Application;
use atende::store::Store;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "atende",
    version,
    about = "Plataforma de clínicas em tempo real"
)]
struct Cli {
    /// Extra configuration file (TOML), layered over the defaults.
    #[arg(long, global = true, env = "ATENDE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Seed demo clinics, staff and patients (idempotent) and print their logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Change nothing: list the migrations this binary would apply and exit 0 when the
        /// schema is current, 3 when some are pending, 4 when the database was migrated by a
        /// newer release (it holds versions this binary does not know).
        #[arg(long)]
        check: bool,
    },
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Audit log tasks.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Field-encryption key tasks.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Write an encrypted archive of the database and the data directory (safe while serving).
    Backup {
        /// The archive to write (written as FILE.partial, renamed when complete).
        #[arg(long)]
        out: PathBuf,
        /// After a successful backup, write its time and size to this file in Prometheus
        /// text format (for node_exporter's textfile collector and the backup-age alert).
        #[arg(long)]
        metrics_file: Option<PathBuf>,
    },
    /// Restore an archive of `atende backup` onto an empty installation.
    Restore {
        #[arg(long)]
        from: PathBuf,
    },
    /// Exit 0 when this node's /health/ready answers 200 (a container health check).
    Health,
    /// Configuration tasks.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// LGPD data-subject requests (docs/lgpd.md).
    Lgpd {
        #[command(subcommand)]
        command: LgpdCommand,
    },
}

#[derive(Subcommand)]
enum LgpdCommand {
    /// Write everything a clinic holds about a patient record (decrypted) to a file; audited.
    Export {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        patient: String,
        #[arg(long)]
        out: PathBuf,
        /// `json` (default) or `pdf` (a readable summary).
        #[arg(long, default_value = "json")]
        format: String,
        /// Why (default: the data subject's request for access, LGPD art. 18 II).
        #[arg(long)]
        legal_basis: Option<String>,
    },
    /// Anonymise a clinic's patient record where the law allows; prints what went and what
    /// stays (until when, why). Audited.
    Anonymise {
        #[arg(long)]
        clinic: String,
        #[arg(long)]
        patient: String,
        #[arg(long)]
        legal_basis: String,
        /// The patient's full name as registered, typed again.
        #[arg(long)]
        confirm: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Count, per encrypted column, the values not yet under the active key.
    Status,
    /// Re-encrypt every value under the active key (and encrypt files stored before
    /// encryption at rest), in batches, while the installation serves.
    Rotate {
        /// Rows read and rewritten per query.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
    /// Recompute every blind index (patients' CPF, phone and name tokens) under the
    /// current `security.jwt_secret`, in batches, while the installation serves. Run it
    /// after changing that secret.
    Reindex {
        /// Patient records read and rewritten per transaction.
        #[arg(long, default_value_t = 500)]
        batch: i64,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration without starting: every key, the secrets, the data
    /// directory and (unless --offline) the database and Redis.
    Check {
        /// Do not connect to the database or Redis.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Set a user's password (read from standard input) and end their sessions.
    SetPassword {
        #[arg(long)]
        email: String,
    },
    /// Disable an account (or enable it again with --enable) and end its sessions.
    DisableUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        enable: bool,
    },
    /// Create a user account (the password is read from standard input).
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// May create clinics and manage every clinic's members.
        #[arg(long)]
        platform_admin: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every row's MAC and link and every anchor; report the first bad row.
    Verify {
        /// Anchor file to check (repeat for several nodes' files); default: audit.anchor_path.
        #[arg(long = "anchors")]
        anchors: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("atende: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = atende::telemetry::init_logging(&settings.log);
    let result = atende::runtime::System::new().block_on(run(cli.command, settings));
    telemetry.shutdown();
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("atende: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Health => Ok(match atende::startup::probe_ready(&settings) {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("atende: not ready: {why}");
                ExitCode::FAILURE
            }
        }),
        Command::Backup { out, metrics_file } => {
            Ok(backup_or_restore(&settings, &out, Some(metrics_file.as_deref())).await)
        }
        Command::Restore { from } => Ok(backup_or_restore(&settings, &from, None).await),
        Command::Config {
            command: ConfigCommand::Check { offline },
        } => {
            let report = atende::startup::check_config(&mut settings, !offline).await;
            for line in &report.lines {
                println!("{line}");
            }
            Ok(if report.ok {
                println!("configuration OK");
                ExitCode::SUCCESS
            } else {
                println!("configuration has problems");
                ExitCode::from(1)
            })
        }
        Command::Serve { demo } => {
            // The demo's e-mail (sign-up links, resets) lands in a maildir one can open.
            if demo
                && settings.messaging.smtp.host.is_empty()
                && settings.messaging.mail_dir.is_empty()
            {
                settings.messaging.mail_dir = settings.data.dir.join("mail").display().to_string();
            }
            let app = Application::build(settings).await?;
            let state = app.state();
            let url = state.settings.public_base_url(app.port());
            if demo {
                let seeded = atende::demo::seed_with_week(&state).await?;
                print_demo(&url, seeded);
                let m = &state.settings.messaging;
                if m.smtp.host.is_empty() && !m.mail_dir.is_empty() {
                    println!("E-mails da demonstração: {}/new/", m.mail_dir);
                    println!();
                }
            }
            println!("atende está no ar em {url}");
            tracing::info!(%url, backend = state.store.backend(), "serving");
            let shutdown = app.shutdown_handle();
            let stopping = actix_web::rt::spawn(async move {
                atende::startup::wait_for_signal().await;
                shutdown.shutdown().await;
            });
            app.run_until_stopped().await?;
            // The server stops in the middle of the shutdown; let its last steps (the final
            // audit anchor, closing the database) finish before the process exits.
            let _ = stopping.await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { check: true } => {
            let store = open_store(&mut settings).await?;
            let status = store.migration_status().await?;
            println!(
                "{} migrations applied ({})",
                status.applied,
                store.backend()
            );
            for (version, description) in &status.pending {
                println!("pending: {version} {description}");
            }
            if !status.unknown.is_empty() {
                let list: Vec<String> = status.unknown.iter().map(i64::to_string).collect();
                println!(
                    "the database holds migrations this binary does not know (a newer release migrated it): {}",
                    list.join(", ")
                );
                return Ok(ExitCode::from(4));
            }
            if status.pending.is_empty() {
                println!("schema is current");
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::from(3))
            }
        }
        Command::Migrate { check: false } => {
            let store = open_store(&mut settings).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend());
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    email,
                    name,
                    platform_admin,
                },
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let name = PersonName::parse(&name).map_err(|e| anyhow::anyhow!("--name: {e}"))?;
            let mut raw = String::new();
            std::io::stdin().read_to_string(&mut raw)?;
            let password = Password::parse(raw.trim_end_matches(['\n', '\r']))
                .map_err(|e| anyhow::anyhow!("password: {e}"))?;
            let store = open_audited_store(&mut settings).await?;
            store.migrate().await?;
            let user = create_user(&store, email, name, password, platform_admin).await?;
            println!("created user {} ({})", user.email, user.id);
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command: AdminCommand::SetPassword { email },
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let mut raw = String::new();
            std::io::stdin().read_to_string(&mut raw)?;
            let password = Password::parse(raw.trim_end_matches(['\n', '\r']))
                .map_err(|e| anyhow::anyhow!("password: {e}"))?;
            let store = open_audited_store(&mut settings).await?;
            let (user, ended) = reset_password(&store, &email, password)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user with e-mail {}", email.as_str()))?;
            println!(
                "password changed for {}; {ended} session(s) ended",
                user.email
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Admin {
            command: AdminCommand::DisableUser { email, enable },
        } => {
            let store = open_audited_store(&mut settings).await?;
            let (user, ended) = set_account_disabled(&store, &email, !enable)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user with e-mail {email}"))?;
            println!(
                "{} {}; {ended} session(s) ended",
                user.email,
                if enable { "enabled" } else { "disabled" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { command } => keys(command, settings).await,
        Command::Lgpd { command } => lgpd(command, settings).await,
        Command::Audit {
            command: AuditCommand::Verify { anchors },
        } => {
            settings.existing_secrets()?;
            if settings.security.audit_keys.is_empty() {
                anyhow::bail!(
                    "no audit key: set security.audit_keys or run with the data directory whose \
                     secrets.toml holds it"
                );
            }
            let keys = atende::startup::audit_keys(&settings)?;
            let paths = if anchors.is_empty() {
                vec![settings.audit_anchor_path()]
            } else {
                anchors
            };
            let mut anchored = Vec::new();
            for path in &paths {
                match AnchorLog::new(path).read(&keys)? {
                    Ok(mut found) => anchored.append(&mut found),
                    Err(problem) => {
                        println!(
                            "audit anchors BROKEN at {} line {}: {}",
                            problem.path.display(),
                            problem.line,
                            problem.reason
                        );
                        return Ok(ExitCode::from(1));
                    }
                }
            }
            let store = open_store(&mut settings).await?.with_audit_keys(keys);
            match store.verify_audit_chain(anchored).await? {
                ChainReport::Intact {
                    rows,
                    legacy,
                    head,
                    anchors,
                } => {
                    println!(
                        "audit chain intact: {rows} rows, head {head}; {anchors} anchor(s) matched"
                    );
                    if legacy > 0 {
                        println!(
                            "note: the first {legacy} rows predate the audit key and are checked by hash only"
                        );
                    }
                    if anchors == 0 {
                        println!(
                            "warning: no anchor found in {}: removal of the newest rows cannot be detected",
                            paths
                                .iter()
                                .map(|p| p.display().to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                ChainReport::Broken { seq, reason } => {
                    println!("audit chain BROKEN at row {seq}: {reason}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// `atende keys …`: with the configured keys only (a key generated now could open nothing).
async fn keys(command: KeysCommand, mut settings: Settings) -> anyhow::Result<ExitCode> {
    settings.existing_secrets()?;
    if settings.security.encryption_keys.is_empty() {
        anyhow::bail!(
            "no encryption key: set security.encryption_keys or run with the data directory \
             whose secrets.toml holds them"
        );
    }
    let cipher = atende::app::keys::field_cipher(&settings)?;
    let store = open_store(&mut settings).await?.with_field_cipher(
        cipher.clone(),
        settings.security.jwt_secret.expose().as_bytes(),
    );
    store.migrate().await?;
    match command {
        KeysCommand::Status => {
            let counts = atende::app::keys::status(&store, &cipher).await?;
            let left: i64 = counts.iter().map(|c| c.count).sum();
            for c in counts.iter().filter(|c| c.count > 0) {
                println!(
                    "{}.{}: {} value(s) not under key {}",
                    c.table,
                    c.column,
                    c.count,
                    cipher.active_key()
                );
            }
            println!(
                "{left} value(s) not under the active key {}",
                cipher.active_key()
            );
            Ok(ExitCode::SUCCESS)
        }
        KeysCommand::Rotate { batch } => {
            let report = atende::app::keys::rotate(&store, &cipher, batch, |c| {
                println!("{}.{}: {} rewritten", c.table, c.column, c.count);
            })
            .await;
            match report {
                Ok(report) => {
                    println!(
                        "{} value(s) now under the active key {}",
                        report.total(),
                        cipher.active_key()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("key rotation STOPPED: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        KeysCommand::Reindex { batch } => {
            if settings.security.jwt_secret.expose().is_empty() {
                anyhow::bail!(
                    "no security.jwt_secret (the blind indexes are keyed by it): set it or run \
                     with the data directory whose secrets.toml holds it"
                );
            }
            let done = atende::app::keys::reindex(&store, batch, |r| {
                println!(
                    "{} patient record(s), {} pending sign-up(s) reindexed",
                    r.patients, r.pending_signups
                );
            })
            .await?;
            println!(
                "{} patient record(s) reindexed: CPF and phone indexes, {} name token(s); \
                 {} pending sign-up(s): e-mail index",
                done.patients, done.name_tokens, done.pending_signups
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `atende backup` (`Some(metrics file)` or `Some(None)`) or `atende restore` (`None`);
/// each kind of failure has its own exit status.
async fn backup_or_restore(
    settings: &Settings,
    path: &std::path::Path,
    backup: Option<Option<&std::path::Path>>,
) -> ExitCode {
    use atende::app::backup;
    let done = match (backup::backup_key(settings), backup) {
        (Ok(key), Some(_)) => backup::backup(settings, path, &key).await,
        (Ok(key), None) => backup::restore(settings, path, &key).await,
        (Err(e), _) => Err(e),
    };
    let report = match done {
        Ok(r) => r,
        Err(e) => {
            eprintln!("atende: {e}");
            return ExitCode::from(e.exit_code());
        }
    };
    println!(
        "{} {} ({} database, {} file(s), {} bytes, sha256 {})",
        if backup.is_some() {
            "backup written to"
        } else {
            "restored from"
        },
        path.display(),
        report.backend,
        report.files,
        report.bytes,
        report.sha256
    );
    if let Some(Some(metrics)) = backup
        && let Err(e) = backup::write_metrics_file(metrics, &report)
    {
        eprintln!("atende: the backup is complete, but {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

async fn lgpd(command: LgpdCommand, mut settings: Settings) -> anyhow::Result<ExitCode> {
    use atende::app::lgpd::{self, Ctx, Requester, anonymise, export};
    let store = open_audited_store(&mut settings).await?;
    let cipher = atende::app::keys::field_cipher(&settings)?;
    let ctx = Ctx {
        store: &store,
        cipher: &cipher,
        settings: &settings.lgpd,
        now: atende::store::now(),
    };
    let ids = |clinic: &str, patient: &str| -> anyhow::Result<_> {
        Ok((
            clinic
                .parse::<atende::domain::ClinicId>()
                .map_err(|_| anyhow::anyhow!("--clinic: not an id"))?,
            patient
                .parse::<atende::domain::PatientId>()
                .map_err(|_| anyhow::anyhow!("--patient: not an id"))?,
        ))
    };
    let done = match command {
        LgpdCommand::Export {
            clinic,
            patient,
            out,
            format,
            legal_basis,
        } => {
            let (clinic, patient) = ids(&clinic, &patient)?;
            if format != "json" && format != "pdf" {
                anyhow::bail!("--format: json or pdf");
            }
            let basis = lgpd::legal_basis(legal_basis.as_deref(), Some(lgpd::CLINIC_ACCESS_BASIS))
                .map_err(|e| anyhow::anyhow!("--legal-basis: {e}"))?;
            export::export_clinic_record(
                &ctx,
                Requester::Operator,
                clinic,
                patient,
                &basis,
                &format,
            )
            .await
            .map(|e| {
                let bytes = if format == "pdf" {
                    lgpd::pdf::summary_pdf(&e)
                } else {
                    serde_json::to_vec_pretty(&e).unwrap_or_default()
                };
                (e.records.len(), bytes)
            })
            .map(|(n, bytes)| {
                std::fs::write(&out, &bytes).map(|()| {
                    println!(
                        "{n} record(s) written to {} ({} bytes)",
                        out.display(),
                        bytes.len()
                    );
                })
            })
        }
        LgpdCommand::Anonymise {
            clinic,
            patient,
            legal_basis,
            confirm,
        } => {
            let (clinic, patient) = ids(&clinic, &patient)?;
            let req = anonymise::AnonymiseRequest {
                legal_basis,
                confirmation: confirm,
            };
            anonymise::anonymise(&ctx, Requester::Operator, clinic, patient, &req)
                .await
                .map(|(report, _)| {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&report).unwrap_or_default()
                    );
                    Ok(())
                })
        }
    };
    match done {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(io)) => Err(io.into()),
        Err(e) => {
            eprintln!("atende: {} ({})", e, e.code());
            Ok(ExitCode::from(match e.kind() {
                atende::actors::protocol::ErrorKind::NotFound => 3,
                atende::actors::protocol::ErrorKind::Conflict => 4,
                _ => 1,
            }))
        }
    }
}

/// A store for commands that write audit rows: the audit key is loaded, or generated into
/// `<data.dir>/secrets.toml` on first use like the server does.
async fn open_audited_store(settings: &mut Settings) -> anyhow::Result<Store> {
    settings.ensure_secrets()?;
    let keys = atende::startup::audit_keys(settings)?;
    let cipher = atende::app::keys::field_cipher(settings)?;
    Ok(open_store(settings)
        .await?
        .with_audit_keys(keys)
        .with_field_cipher(cipher, settings.security.jwt_secret.expose().as_bytes()))
}

async fn open_store(settings: &mut Settings) -> anyhow::Result<Store> {
    if settings.uses_sqlite() {
        std::fs::create_dir_all(&settings.data.dir)?;
    }
    Ok(Store::connect(&settings.database_url(), settings.database.max_connections).await?)
}

fn print_demo(url: &str, seeded: bool) {
    println!();
    if seeded {
        println!("Dados de demonstração criados.");
    } else {
        println!("Dados de demonstração já existem.");
    }
    println!(
        "Abra {url} e entre com um destes logins (senha de todos: {}):",
        atende::demo::DEMO_PASSWORD
    );
    for (email, what) in atende::demo::DEMO_LOGINS {
        println!("  {email:<26} {what}");
    }
    println!();
}
