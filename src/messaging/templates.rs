//! What each outbox template says, in Brazilian Portuguese: a subject, a plain-text body and
//! an HTML body, from the template's name and its (decrypted) payload. Links in payloads
//! are paths (`/#/link/confirm/<token>`); they become absolute here.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::Outgoing;
use crate::domain::document::DocumentKind;
use crate::domain::message_text;

/// A message's words for e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The links a payload may carry, in the order shown, with their button labels.
const LINKS: &[(&str, &str)] = &[
    ("confirm_path", "Confirmar presença"),
    ("cancel_path", "Cancelar consulta"),
    ("accept_path", "Aceitar o horário"),
    ("decline_path", "Recusar"),
    ("reset_path", "Criar nova senha"),
    ("confirm_email_path", "Confirmar meu e-mail"),
    ("forgot_path", "Esqueci minha senha"),
    ("invite_path", "Criar minha senha"),
    ("link_path", "Vincular meu cadastro"),
    ("verify_url", "Ver o documento"),
    ("optout_path", "Não receber mais lembretes por e-mail"),
];

/// Escape text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn text(p: &Value, key: &str) -> String {
    p[key].as_str().unwrap_or_default().to_string()
}

/// The patient's first name in a payload (`patient_name`), or nothing.
pub fn first_name(p: &Value) -> &str {
    let name = p["patient_name"].as_str().unwrap_or_default();
    name.split_whitespace().next().unwrap_or(name)
}

/// `terça-feira, 08/12/2026 às 08:30` in the clinic's zone.
pub fn when(at: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    const DAYS: [&str; 7] = [
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ];
    use chrono::Datelike as _;
    let local = at.with_timezone(&tz);
    format!(
        "{}, {} às {}",
        DAYS[local.weekday().num_days_from_monday() as usize],
        local.format("%d/%m/%Y"),
        local.format("%H:%M")
    )
}

/// The absolute address of a link in the payload (paths get the base URL).
pub fn absolute(base: &str, link: &str) -> String {
    if link.starts_with("http://") || link.starts_with("https://") {
        link.to_string()
    } else {
        format!("{}{}", base.trim_end_matches('/'), link)
    }
}

/// The message's links: (label, absolute URL).
fn links(m: &Outgoing) -> Vec<(&'static str, String)> {
    let p = &m.payload;
    LINKS
        .iter()
        .filter_map(|(key, label)| {
            let v = p["links"][key].as_str().or_else(|| p[key].as_str())?;
            Some((*label, absolute(&m.base_url, v)))
        })
        .collect()
}

/// Subject and paragraphs of a template.
fn words(m: &Outgoing) -> (String, Vec<String>) {
    let p = &m.payload;
    let clinic = &m.sender.name;
    let starts = p["starts_at"]
        .as_str()
        .and_then(|s| s.parse::<DateTime<Utc>>().ok())
        .map(|t| when(t, m.sender.time_zone))
        .unwrap_or_default();
    let who = text(p, "professional_name");
    let service = p["service_name"]
        .as_str()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let teleconsult = if p["kind"] == "teleconsultation" {
        " por teleconsulta"
    } else {
        ""
    };
    let hello = match p["patient_name"].as_str().or_else(|| p["name"].as_str()) {
        Some(n) => format!("Olá, {}.", n.split_whitespace().next().unwrap_or(n)),
        None => "Olá.".to_string(),
    };
    let appointment = format!("{starts}, com {who}{service}{teleconsult}");
    if let Some(e) = message_text::editable(&m.template) {
        let words = m.text.clone().unwrap_or_else(|| e.default_text());
        let first = first_name(p).to_string();
        let document = serde_json::from_value::<DocumentKind>(p["kind"].clone())
            .map(|k| k.title().to_string())
            .unwrap_or_default();
        let value = |name: &str| {
            Some(match name {
                "paciente" => first.clone(),
                "clinica" => clinic.clone(),
                "data_hora" => starts.clone(),
                "profissional" => who.clone(),
                "servico" => text(p, "service_name"),
                "consulta" => appointment.clone(),
                "documento" => document.clone(),
                "codigo" => text(p, "code"),
                _ => return None,
            })
        };
        let paragraphs = words
            .body
            .split("\n\n")
            .map(|para| message_text::fill(para.trim(), value))
            .filter(|para| !para.is_empty())
            .collect();
        return (message_text::fill(&words.subject, value), paragraphs);
    }
    match m.template.as_str() {
        "password_reset" => (
            "Redefinição de senha".to_string(),
            vec![
                hello,
                "Recebemos um pedido para redefinir a senha da sua conta no atende. O link abaixo vale por 30 minutos e funciona uma única vez.".into(),
                "Se não foi você, ignore esta mensagem: sua senha continua a mesma.".into(),
            ],
        ),
        "signup_confirmation" => (
            "Confirme seu e-mail no atende".to_string(),
            vec![
                hello,
                "Recebemos um pedido para criar uma conta no atende com este endereço de e-mail. Para ativar sua conta, confirme o endereço pelo link abaixo. Ele vale por 24 horas e funciona uma única vez.".into(),
                "Se não foi você, ignore esta mensagem: nenhuma conta será criada.".into(),
            ],
        ),
        "signup_existing_account" => (
            "Tentativa de criar conta com seu e-mail".to_string(),
            vec![
                hello,
                "Alguém tentou criar uma conta no atende com este endereço de e-mail, que já tem uma conta. Nenhuma conta nova foi criada.".into(),
                "Se foi você, entre com sua senha. Se não se lembra dela, crie uma nova pelo link abaixo.".into(),
                "Se não foi você, ignore esta mensagem: sua conta continua como está.".into(),
            ],
        ),
        "staff_invitation" => (
            format!("Convite para a equipe da {clinic} no atende"),
            vec![
                hello,
                format!(
                    "A {clinic} convidou você para usar o atende na equipe ({}).",
                    text(p, "role")
                ),
                format!(
                    "Para entrar, crie a sua senha pelo link abaixo. Ele vale por {} dias e funciona uma única vez; depois, entre com este e-mail e a senha que você escolher.",
                    p["days"].as_i64().unwrap_or(7)
                ),
                "Se você não esperava este convite, ignore esta mensagem.".into(),
            ],
        ),
        "patient_link_invitation" => (
            format!("Acesse seu cadastro na {clinic} pelo atende"),
            vec![
                hello,
                format!(
                    "A {clinic} convida você a ver suas consultas, documentos e conversas com a clínica no atende."
                ),
                format!(
                    "Abra o link abaixo e entre na sua conta (ou crie uma). Ele vale por {} horas e funciona uma única vez.",
                    p["hours"].as_i64().unwrap_or(72)
                ),
                "Se você não é paciente da clínica, ignore esta mensagem: nada muda.".into(),
            ],
        ),
        _ => (
            format!("Mensagem da {clinic}"),
            vec![hello, format!("Você tem uma nova mensagem da {clinic}.")],
        ),
    }
}

/// The e-mail for a message.
pub fn render(m: &Outgoing) -> Rendered {
    let (subject, paragraphs) = words(m);
    let links = links(m);
    let footer = format!(
        "{} — mensagem automática enviada pelo atende.",
        m.sender.name
    );
    let mut text = paragraphs.join("\n\n");
    for (label, url) in &links {
        text.push_str(&format!("\n\n{label}: {url}"));
    }
    text.push_str(&format!("\n\n--\n{footer}\n"));
    let mut html = String::from(
        "<!doctype html><html lang=\"pt-BR\"><head><meta charset=\"utf-8\"></head>\
         <body style=\"font-family:sans-serif;line-height:1.5;color:#222\">",
    );
    for p in &paragraphs {
        html.push_str(&format!("<p>{}</p>", esc(p)));
    }
    if !links.is_empty() {
        html.push_str("<p>");
        for (label, url) in &links {
            html.push_str(&format!(
                "<a href=\"{}\" style=\"display:inline-block;margin:0 8px 8px 0;padding:10px 16px;\
                 background:#0b6e4f;color:#fff;text-decoration:none;border-radius:4px\">{}</a>",
                esc(url),
                esc(label)
            ));
        }
        html.push_str("</p>");
    }
    html.push_str(&format!(
        "<p style=\"color:#777;font-size:12px\">{}</p></body></html>",
        esc(&footer)
    ));
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messaging::Sender;
    use serde_json::json;

    fn message(template: &str, payload: Value) -> Outgoing {
        Outgoing {
            id: uuid::Uuid::nil(),
            idempotency_key: "k".into(),
            template: template.into(),
            payload,
            to: "a@b.c".into(),
            sender: Sender {
                name: "Clínica <Aurora>".into(),
                reply_to: None,
                time_zone: chrono_tz::America::Sao_Paulo,
            },
            base_url: "https://atende.example/".into(),
            created_at: Utc::now(),
            attachment: None,
            text: None,
        }
    }

    #[test]
    fn a_reminder_shows_the_local_time_and_absolute_links_and_escapes_html() {
        let r = render(&message(
            "appointment_reminder",
            json!({"patient_name": "João da Silva", "professional_name": "Dra. Helena",
                   "starts_at": "2026-12-08T11:30:00Z",
                   "links": {"confirm_path": "/#/link/confirm/abc", "cancel_path": "/#/link/cancel/def"}}),
        ));
        assert_eq!(
            r.subject,
            "Lembrete: sua consulta em terça-feira, 08/12/2026 às 08:30"
        );
        assert!(r.text.contains("Olá, João."), "{}", r.text);
        assert!(
            r.text
                .contains("Confirmar presença: https://atende.example/#/link/confirm/abc")
        );
        assert!(
            r.html
                .contains("href=\"https://atende.example/#/link/cancel/def\"")
        );
        assert!(r.html.contains("Clínica &lt;Aurora&gt;"));
        assert!(!r.html.contains("<Aurora>"));
    }
}
