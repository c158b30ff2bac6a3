//! The words of the e-mails a clinic sends its patients, which the clinic may rewrite: a
//! subject and a body with `{{variables}}` (pt-BR names), checked before they are saved.
//! The built-in texts are written the same way, so a clinic starts from them and goes back
//! to them. The links (confirm, cancel, see the document…) are not part of the text: they
//! always follow it, so no rewrite can lose them.

use super::ValidationError;

/// A message's words: the subject, and the body's paragraphs separated by blank lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageText {
    pub subject: String,
    pub body: String,
}

/// The longest subject, in characters.
pub const MAX_SUBJECT: usize = 150;
/// The longest body, in characters.
pub const MAX_BODY: usize = 3000;

/// A variable: its name and what it stands for (pt-BR, for the editor).
pub type Variable = (&'static str, &'static str);

const PACIENTE: Variable = ("paciente", "primeiro nome do paciente");
const CLINICA: Variable = ("clinica", "nome da clínica (ou o remetente configurado)");
const DATA_HORA: Variable = ("data_hora", "dia e horário da consulta");
const PROFISSIONAL: Variable = ("profissional", "nome do profissional");
const SERVICO: Variable = ("servico", "serviço agendado (pode ficar vazio)");
const CONSULTA: Variable = (
    "consulta",
    "dia, horário, profissional, serviço e se é teleconsulta, numa frase",
);
const DOCUMENTO: Variable = ("documento", "tipo de documento (Receituário, Atestado…)");
const CODIGO: Variable = ("codigo", "código de verificação do documento");

const APPOINTMENT: &[Variable] = &[
    PACIENTE,
    CLINICA,
    DATA_HORA,
    PROFISSIONAL,
    SERVICO,
    CONSULTA,
];
const DOCUMENT: &[Variable] = &[PACIENTE, CLINICA, PROFISSIONAL, DOCUMENTO, CODIGO];

/// An editable message: the outbox template, its name in the editor, its variables and its
/// built-in words.
pub struct Editable {
    pub template: &'static str,
    pub label: &'static str,
    pub variables: &'static [Variable],
    pub subject: &'static str,
    pub body: &'static str,
}

/// The messages a clinic may rewrite, in the editor's order.
pub const EDITABLE: &[Editable] = &[
    Editable {
        template: "appointment_reminder",
        label: "Lembrete de consulta",
        variables: APPOINTMENT,
        subject: "Lembrete: sua consulta em {{data_hora}}",
        body: "Olá, {{paciente}}.\n\nLembramos da sua consulta na {{clinica}}: {{consulta}}.\n\nPor favor, confirme sua presença ou cancele se não puder comparecer — assim o horário fica livre para outra pessoa.",
    },
    Editable {
        template: "appointment_booked",
        label: "Consulta agendada",
        variables: APPOINTMENT,
        subject: "Consulta agendada: {{data_hora}}",
        body: "Olá, {{paciente}}.\n\nSua consulta na {{clinica}} está marcada: {{consulta}}.\n\nVocê pode confirmar ou cancelar pelos botões abaixo.",
    },
    Editable {
        template: "appointment_rescheduled",
        label: "Consulta remarcada",
        variables: APPOINTMENT,
        subject: "Consulta remarcada para {{data_hora}}",
        body: "Olá, {{paciente}}.\n\nSua consulta na {{clinica}} foi remarcada: {{consulta}}.",
    },
    Editable {
        template: "appointment_cancelled",
        label: "Consulta cancelada",
        variables: APPOINTMENT,
        subject: "Consulta cancelada",
        body: "Olá, {{paciente}}.\n\nSua consulta na {{clinica}} de {{data_hora}} foi cancelada.\n\nSe quiser, agende um novo horário com a clínica.",
    },
    Editable {
        template: "waitlist_offer",
        label: "Vaga da lista de espera",
        variables: APPOINTMENT,
        subject: "Um horário ficou livre: {{data_hora}}",
        body: "Olá, {{paciente}}.\n\nAbriu uma vaga na {{clinica}}: {{consulta}}. O horário fica reservado para você por pouco tempo.",
    },
    Editable {
        template: "document_ready",
        label: "Documento enviado ao paciente",
        variables: DOCUMENT,
        subject: "Seu documento está disponível",
        body: "Olá, {{paciente}}.\n\n{{profissional}} emitiu um documento assinado digitalmente para você (código {{codigo}}).",
    },
];

/// The editable message of an outbox template, if it is one.
pub fn editable(template: &str) -> Option<&'static Editable> {
    EDITABLE.iter().find(|e| e.template == template)
}

impl Editable {
    /// The built-in words.
    pub fn default_text(&self) -> MessageText {
        MessageText {
            subject: self.subject.to_string(),
            body: self.body.to_string(),
        }
    }

    /// A clinic's words for this message, tidied and checked: a subject of one line and a
    /// body, neither empty nor too long, naming only this message's variables.
    pub fn check(&self, subject: &str, body: &str) -> Result<MessageText, ValidationError> {
        let subject = subject.trim();
        let body = body.replace("\r\n", "\n");
        let body = body.trim();
        if subject.is_empty() || subject.contains('\n') || subject.chars().count() > MAX_SUBJECT {
            return Err(ValidationError::new(
                "invalid_subject",
                format!("o assunto deve ter uma linha, de 1 a {MAX_SUBJECT} caracteres"),
            )
            .field("subject"));
        }
        if body.is_empty() || body.chars().count() > MAX_BODY {
            return Err(ValidationError::new(
                "invalid_body_text",
                format!("o texto deve ter de 1 a {MAX_BODY} caracteres"),
            )
            .field("body"));
        }
        for (text, field) in [(subject, "subject"), (body, "body")] {
            for name in placeholders(text).map_err(|e| e.field(field))? {
                if !self.variables.iter().any(|(v, _)| *v == name) {
                    let known: Vec<String> = self
                        .variables
                        .iter()
                        .map(|(v, _)| format!("{{{{{v}}}}}"))
                        .collect();
                    return Err(ValidationError::new(
                        "unknown_variable",
                        format!(
                            "variável desconhecida: {{{{{name}}}}}; use {}",
                            known.join(", ")
                        ),
                    )
                    .field(field));
                }
            }
        }
        Ok(MessageText {
            subject: subject.to_string(),
            body: body.to_string(),
        })
    }
}

/// The variables `text` names, in order; an error for a `{{` left open or a `}}` never
/// opened.
pub fn placeholders(text: &str) -> Result<Vec<&str>, ValidationError> {
    let unbalanced = || {
        ValidationError::new(
            "invalid_template",
            "cada variável se escreve entre chaves duplas, como {{paciente}}",
        )
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if rest[..open].contains("}}") {
            return Err(unbalanced());
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(unbalanced)?;
        let name = after[..close].trim();
        if name.is_empty() || name.contains('{') {
            return Err(unbalanced());
        }
        out.push(name);
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(unbalanced());
    }
    Ok(out)
}

/// `text` with each `{{variable}}` replaced by `value(name)`. A text that was checked names
/// only known variables; anything else is left as written. A greeting whose name is
/// unknown ("Olá, .") loses its comma.
pub fn fill(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let name = after[..close].trim();
        match value(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out.replace(", .", ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reminder() -> &'static Editable {
        editable("appointment_reminder").expect("editable")
    }

    #[test]
    fn every_built_in_text_passes_its_own_check() {
        for e in EDITABLE {
            assert_eq!(
                e.check(e.subject, e.body),
                Ok(e.default_text()),
                "{}",
                e.template
            );
        }
        assert!(editable("password_reset").is_none());
    }

    #[test]
    fn unknown_variables_and_open_braces_are_refused_naming_the_field() {
        let e = reminder().check("Oi {{nome}}", "x").expect_err("unknown");
        assert_eq!((e.code, e.field), ("unknown_variable", Some("subject")));
        assert!(e.message.contains("{{nome}}") && e.message.contains("{{paciente}}"));
        // A document's variable is not an appointment's.
        let e = reminder()
            .check("Oi", "código {{codigo}}")
            .expect_err("not here");
        assert_eq!((e.code, e.field), ("unknown_variable", Some("body")));
        for bad in [
            "Olá {{paciente",
            "Olá paciente}}",
            "{{}}",
            "{{ {{paciente}} }}",
        ] {
            let e = reminder().check("Oi", bad).expect_err(bad);
            assert_eq!(e.code, "invalid_template", "{bad}");
        }
        assert_eq!(
            reminder().check(" ", "x").expect_err("empty").code,
            "invalid_subject"
        );
        assert_eq!(
            reminder().check("a\nb", "x").expect_err("two lines").code,
            "invalid_subject"
        );
        let long = "a".repeat(MAX_BODY + 1);
        assert_eq!(
            reminder().check("a", &long).expect_err("long").code,
            "invalid_body_text"
        );
    }

    #[test]
    fn filling_replaces_known_names_tolerates_spaces_and_tidies_an_empty_name() {
        let v = |n: &str| match n {
            "paciente" => Some("João".to_string()),
            "clinica" => Some("Aurora".to_string()),
            _ => None,
        };
        assert_eq!(
            fill("Olá, {{paciente}}! {{ clinica }}", v),
            "Olá, João! Aurora"
        );
        assert_eq!(fill("{{outra}} e {{", v), "{{outra}} e {{");
        assert_eq!(fill("Olá, {{paciente}}.", |_| Some(String::new())), "Olá.");
        let checked = reminder()
            .check("  Lembrete  ", "a\r\n\r\nb\r\n")
            .expect("ok");
        assert_eq!(checked.subject, "Lembrete");
        assert_eq!(checked.body, "a\n\nb");
    }
}
