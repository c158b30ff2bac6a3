//! The `atende lgpd` commands: export and anonymise from the command line, against the
//! test app's database with its keys, audited as the operator's.

use serde_json::Value;

use crate::helpers::*;
use crate::lgpd::two_people;

/// A configuration file for the `atende` command that opens the test app's database with
/// its keys.
fn cli_config(app: &TestApp, dir: &std::path::Path) -> std::path::PathBuf {
    let s = &app.state.settings;
    let keys = |m: &std::collections::BTreeMap<String, atende::config::Secret<String>>| {
        m.iter()
            .map(|(k, v)| format!("{k} = \"{}\"", v.expose()))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let toml = format!(
        "[data]\ndir = \"{}\"\n[database]\nurl = \"{}\"\n[security]\njwt_secret = \"{}\"\n\
         encryption_active_key = \"{}\"\naudit_active_key = \"{}\"\n\
         [security.encryption_keys]\n{}\n[security.audit_keys]\n{}\n",
        s.data.dir.display(),
        app.db_url,
        s.security.jwt_secret.expose(),
        s.security.encryption_active_key,
        s.security.audit_active_key,
        keys(&s.security.encryption_keys),
        keys(&s.security.audit_keys),
    );
    let path = dir.join("atende.toml");
    std::fs::write(&path, toml).expect("config");
    path
}

#[actix_web::rt::test(system = "atende::runtime::System")]
async fn the_lgpd_commands_export_and_anonymise_from_the_command_line() {
    let app = spawn_app().await;
    let (a, irene, other) = two_people(&app).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = cli_config(&app, dir.path());
    let run = |args: Vec<String>| {
        let mut cmd = crate::cli::atende(dir.path());
        cmd.arg("--config").arg(&config).args(args);
        async move {
            let out = tokio::process::Command::from(cmd)
                .output()
                .await
                .expect("run");
            (
                out.status.code(),
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            )
        }
    };
    let export = |out: &std::path::Path, format: &str| {
        vec![
            "lgpd".into(),
            "export".into(),
            "--clinic".into(),
            a.clinic.clone(),
            "--patient".into(),
            irene.id.clone(),
            "--out".into(),
            out.display().to_string(),
            "--format".into(),
            format.to_string(),
        ]
    };
    let out = dir.path().join("irene.json");
    let (code, text) = run(export(&out, "json")).await;
    assert_eq!(code, Some(0), "{text}");
    let e: Value = serde_json::from_slice(&std::fs::read(&out).expect("file")).expect("json");
    assert_eq!(e["records"][0]["patient"]["full_name"], irene.name);
    assert!(e.to_string().contains(&format!("queixa {}", irene.tag)));
    assert!(!e.to_string().contains(&other.tag));
    let pdf = dir.path().join("irene.pdf");
    let (code, text) = run(export(&pdf, "pdf")).await;
    assert_eq!(code, Some(0), "{text}");
    assert!(std::fs::read(&pdf).expect("pdf").starts_with(b"%PDF-"));

    let anonymise = |confirm: &str| {
        vec![
            "lgpd".into(),
            "anonymise".into(),
            "--clinic".into(),
            a.clinic.clone(),
            "--patient".into(),
            irene.id.clone(),
            "--legal-basis".into(),
            "Art. 18, VI: pedido do titular".into(),
            "--confirm".into(),
            confirm.to_string(),
        ]
    };
    let (code, text) = run(anonymise("Nome Errado")).await;
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("confirmation_mismatch"), "{text}");
    let (code, text) = run(anonymise(&irene.name)).await;
    assert_eq!(code, Some(0), "{text}");
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    assert!(
        report["retained"].to_string().contains("clinical_record"),
        "{report}"
    );
    let (code, text) = run(anonymise(&irene.name)).await;
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("already_anonymised"), "{text}");

    let (_, p) = json_of(
        app.get(
            &format!("/api/clinics/{}/patients/{}", a.clinic, irene.id),
            Some(&a.recep.access),
        )
        .await,
    )
    .await;
    assert!(
        p["full_name"]
            .as_str()
            .is_some_and(|n| n.starts_with("Paciente anonimizado #")),
        "{p}"
    );
    let rows = app.state.store.audit_page(0, 100_000).await.expect("audit");
    let by_cli: Vec<_> = rows
        .iter()
        .filter(|r| r.action.starts_with("lgpd.") && r.details.contains("\"cli\""))
        .collect();
    assert_eq!(
        by_cli.len(),
        3,
        "two exports and one anonymisation, by the operator"
    );
    assert!(
        matches!(
            app.verify_audit().await,
            atende::security::audit::ChainReport::Intact { .. }
        ),
        "the audit chain verifies"
    );
}
