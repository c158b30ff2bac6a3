//! The export's readable summary: the same sections as the JSON, one line per row, as a
//! PDF (times in UTC, money in reais).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::export::{Export, RecordExport};
use crate::documents::summary::{Section, Summary, render_summary};

fn when(t: &DateTime<Utc>) -> String {
    t.format("%d/%m/%Y %H:%M UTC").to_string()
}

fn reais(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}R$ {},{:02}", c / 100, c % 100)
}

fn field(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn section(heading: &str, lines: Vec<String>) -> Section {
    Section {
        heading: format!("{heading} ({})", lines.len()),
        lines,
    }
}

fn record_sections(r: &RecordExport) -> Vec<Section> {
    let p = &r.patient;
    let mut identity = vec![
        format!("Nome: {}", p.full_name),
        format!("CPF: {}", p.cpf),
        format!("Nascimento: {}", p.birth_date.format("%d/%m/%Y")),
        format!("Telefone: {}", p.phone.as_deref().unwrap_or("—")),
        format!("E-mail: {}", p.email.as_deref().unwrap_or("—")),
        format!("Cadastro em {}", when(&p.created_at)),
    ];
    if let Some(s) = &p.social_name {
        identity.insert(1, format!("Nome social: {s}"));
    }
    if let Some(a) = &r.anonymised_at {
        identity.push(format!("Anonimizado em {}", when(a)));
    }
    if let Some(a) = &r.clinic_notes.allergies {
        identity.push(format!("Alergias (cadastro): {a}"));
    }
    if let Some(n) = &r.clinic_notes.notes {
        identity.push(format!("Observações da clínica: {n}"));
    }
    let title = match &r.clinic {
        Some(c) => format!("Cadastro em {} (CNPJ {})", c.name, c.cnpj),
        None => "Perfil da conta".to_string(),
    };
    let c = &r.clinical_record;
    let mut clinical: Vec<String> = Vec::new();
    for e in &c.encounters {
        clinical.push(format!(
            "Atendimento {} — {}: {}",
            field(e, "created_at"),
            field(e, "professional_name"),
            e.get("content").map(Value::to_string).unwrap_or_default()
        ));
    }
    for a in &c.addenda {
        clinical.push(format!(
            "Adendo {} — {}: {}",
            field(a, "created_at"),
            field(a, "professional_name"),
            field(a, "text")
        ));
    }
    for a in &c.allergies {
        clinical.push(format!(
            "Alergia: {} ({}, {}) — reação: {}",
            field(a, "substance"),
            field(a, "severity"),
            field(a, "status"),
            field(a, "reaction")
        ));
    }
    for p in &c.problems {
        clinical.push(format!(
            "Problema: CID {} ({}) — {}",
            field(p, "code"),
            field(p, "status"),
            field(p, "notes")
        ));
    }
    for v in &c.vital_signs {
        clinical.push(format!(
            "Sinais vitais {}: {} {}",
            field(v, "measured_at"),
            v.get("values").map(Value::to_string).unwrap_or_default(),
            field(v, "notes")
        ));
    }
    for m in &c.medication_stops {
        clinical.push(format!(
            "Medicamento suspenso em {}: {}",
            field(m, "stopped_at"),
            field(m, "reason")
        ));
    }
    for w in &c.withheld {
        clinical.push(format!(
            "Não incluído: registro de {} em {} — {}",
            field(w, "professional_name"),
            field(w, "created_at"),
            field(w, "why")
        ));
    }
    let pay = &r.payments;
    let mut money: Vec<String> = pay
        .charges
        .iter()
        .map(|c| {
            format!(
                "Cobrança Pix {} — {} — {} — {}",
                c.txid,
                reais(c.amount_cents),
                c.status,
                when(&c.created_at)
            )
        })
        .collect();
    money.extend(pay.movements.iter().map(|m| {
        format!(
            "{} ({}) — {} — {} {}",
            field(m, "kind"),
            field(m, "method"),
            reais(m.get("amount_cents").and_then(Value::as_i64).unwrap_or(0)),
            field(m, "at"),
            field(m, "description")
        )
    }));
    vec![
        section(&title, identity),
        section(
            "Consultas",
            r.appointments
                .iter()
                .map(|a| {
                    format!(
                        "{} — {} — {} — {}{}",
                        when(&a.starts_at),
                        a.professional_name,
                        a.service_name.as_deref().unwrap_or(&a.kind),
                        a.status,
                        a.cancel_reason
                            .as_deref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    )
                })
                .collect(),
        ),
        section(
            "Sala de espera",
            r.queue_entries
                .iter()
                .map(|q| format!("{} — senha {} — {}", q.service_date, q.ticket, q.status))
                .collect(),
        ),
        section("Prontuário", clinical),
        section(
            "Documentos",
            r.documents
                .iter()
                .map(|d| {
                    format!(
                        "{} {} — {} — {} — código {}",
                        d.kind,
                        when(&d.created_at),
                        d.professional_name,
                        d.status,
                        d.code
                    )
                })
                .collect(),
        ),
        section(
            "Mensagens no chat",
            r.chat_messages
                .iter()
                .map(|m| format!("{} — {}: {}", when(&m.created_at), m.sender_name, m.body))
                .collect(),
        ),
        section(
            "Arquivos enviados no chat",
            r.chat_attachments
                .iter()
                .map(|f| {
                    format!(
                        "{} ({} bytes) — {}",
                        f.filename,
                        f.size_bytes,
                        when(&f.created_at)
                    )
                })
                .collect(),
        ),
        section("Pagamentos", money),
        section(
            "Avisos enviados",
            r.messages
                .iter()
                .map(|m| {
                    format!(
                        "{} por {} — {} — para {}",
                        m.template,
                        m.channel,
                        m.status,
                        m.to.as_deref().unwrap_or("—")
                    )
                })
                .collect(),
        ),
        section(
            "Preferências de aviso",
            r.message_consents
                .iter()
                .map(|c| {
                    format!(
                        "{}: {} ({})",
                        c.channel,
                        if c.opted_in { "aceita" } else { "recusa" },
                        when(&c.changed_at)
                    )
                })
                .collect(),
        ),
        section(
            "Quem acessou ou alterou",
            r.access_log
                .iter()
                .map(|a| {
                    format!(
                        "{} — {} — {}",
                        when(&a.at),
                        a.action,
                        a.actor_name.as_deref().unwrap_or("sistema")
                    )
                })
                .collect(),
        ),
    ]
}

/// The export as a readable PDF.
pub fn summary_pdf(e: &Export) -> Vec<u8> {
    let mut intro = vec![
        format!("Gerado em {} ({})", when(&e.generated_at), e.format),
        format!("Base legal: {}", e.legal_basis),
        "O arquivo JSON da mesma exportação traz todos os campos; este resumo mostra uma linha por registro.".to_string(),
    ];
    if let Some(d) = &e.dpo {
        intro.push(format!(
            "Encarregado de dados: {}{}{}",
            d.name,
            d.email
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default(),
            d.phone
                .as_deref()
                .map(|p| format!(" — {p}"))
                .unwrap_or_default()
        ));
    }
    if let Some(a) = &e.account {
        intro.push(format!("Conta: {} ({})", a.full_name, a.email));
    }
    render_summary(&Summary {
        title: "Relatório de dados pessoais (LGPD, art. 18, II)".into(),
        intro,
        sections: e.records.iter().flat_map(record_sections).collect(),
        at: e.generated_at,
    })
}
