//! The clinical record's pure rules: what an encounter holds and how its text is checked,
//! CID-10 codes (checked against the bundled table, `super::cid10`), allergy severities
//! and statuses, problem statuses, encounter states.

use serde::{Deserialize, Serialize};

use super::ValidationError;
pub use super::cid10::Cid10;
use super::stored::stored_as_text;

/// Longest text accepted in one clinical field (characters).
pub const MAX_FIELD_CHARS: usize = 20_000;
/// Most diagnoses on one encounter.
pub const MAX_DIAGNOSES: usize = 30;
/// Shortest "break the glass" reason (characters, after trimming).
pub const MIN_BREAK_GLASS_REASON: usize = 10;

/// Where an encounter is in its life: a draft its author edits, or locked for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncounterStatus {
    Draft,
    Locked,
}

impl EncounterStatus {
    pub const ALL: [EncounterStatus; 2] = [EncounterStatus::Draft, EncounterStatus::Locked];

    pub fn as_str(self) -> &'static str {
        match self {
            EncounterStatus::Draft => "draft",
            EncounterStatus::Locked => "locked",
        }
    }
}
stored_as_text!(EncounterStatus, "invalid_status", "estado desconhecido");

/// How an allergy's reaction is graded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Mild, Severity::Moderate, Severity::Severe];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Mild => "mild",
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
        }
    }
}
stored_as_text!(Severity, "invalid_severity", "gravidade desconhecida");

/// Whether an allergy is still current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AllergyStatus {
    Active,
    Inactive,
}

impl AllergyStatus {
    pub const ALL: [AllergyStatus; 2] = [AllergyStatus::Active, AllergyStatus::Inactive];

    pub fn as_str(self) -> &'static str {
        match self {
            AllergyStatus::Active => "active",
            AllergyStatus::Inactive => "inactive",
        }
    }
}
stored_as_text!(
    AllergyStatus,
    "invalid_allergy_status",
    "estado desconhecido"
);

/// One diagnosis or diagnostic hypothesis: a CID-10 code and the professional's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    #[schema(value_type = String, example = "J11.1")]
    pub code: Cid10,
    #[serde(default)]
    pub text: String,
    /// The code's description in the CID-10 table, filled in by the server when saved
    /// (whatever a client sends here is replaced).
    #[serde(default)]
    pub description: String,
}

/// What an encounter holds. Stored as one encrypted JSON document; every field may be
/// empty while the encounter is a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EncounterContent {
    /// Queixa principal.
    #[serde(default)]
    pub chief_complaint: String,
    /// História da doença atual / anamnese.
    #[serde(default)]
    pub history: String,
    /// Exame físico.
    #[serde(default)]
    pub examination: String,
    /// Hipóteses diagnósticas e diagnósticos (CID-10).
    #[serde(default)]
    pub diagnoses: Vec<Diagnosis>,
    /// Conduta.
    #[serde(default)]
    pub plan: String,
    /// Evolução (texto livre).
    #[serde(default)]
    pub evolution: String,
}

impl EncounterContent {
    /// Refuse oversized text or too many diagnoses; trim the diagnoses' words.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        for (name, text) in [
            ("chief_complaint", &self.chief_complaint),
            ("history", &self.history),
            ("examination", &self.examination),
            ("plan", &self.plan),
            ("evolution", &self.evolution),
        ] {
            check_length(name, text)?;
        }
        if self.diagnoses.len() > MAX_DIAGNOSES {
            return Err(ValidationError::new(
                "too_many_diagnoses",
                format!("no máximo {MAX_DIAGNOSES} diagnósticos por atendimento"),
            ));
        }
        for d in &mut self.diagnoses {
            d.text = d.text.trim().to_string();
            check_length("diagnoses.text", &d.text)?;
            d.description = d.code.known()?.to_string();
        }
        Ok(())
    }
}

/// Whether a medicine, as prescribed, is (or contains) the substance of an allergy:
/// compared word by word without case or accents. The substance may name alternatives
/// ("AAS (ácido acetilsalicílico)", "dipirona; metamizol"): any of them counts. A match is
/// either way round: the allergy "dipirona" matches "Dipirona sódica", and the allergy
/// "dipirona sódica" matches a prescription of "Dipirona". Classes and synonyms (penicillin
/// for amoxicillin) are not known: only the words written.
pub fn allergy_matches(substance: &str, medicine: &str) -> bool {
    use super::text::{contains_phrase, words};
    const UNITS: &[&str] = &[
        "mg",
        "g",
        "mcg",
        "ml",
        "ui",
        "gotas",
        "comprimido",
        "comprimidos",
    ];
    let item = words(medicine);
    let bare: Vec<String> = item
        .iter()
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()) && !UNITS.contains(&w.as_str()))
        .cloned()
        .collect();
    std::iter::once(substance)
        .chain(substance.split([',', ';', '/', '(', ')', '[', ']']))
        .map(words)
        .filter(|alt| !alt.is_empty())
        .any(|alt| contains_phrase(&item, &alt) || contains_phrase(&alt, &bare))
}

/// Whether a problem of the problem list is current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemStatus {
    Active,
    Resolved,
}

impl ProblemStatus {
    pub const ALL: [ProblemStatus; 2] = [ProblemStatus::Active, ProblemStatus::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            ProblemStatus::Active => "active",
            ProblemStatus::Resolved => "resolved",
        }
    }
}
stored_as_text!(
    ProblemStatus,
    "invalid_problem_status",
    "estado desconhecido"
);

/// Refuse a clinical text longer than [`MAX_FIELD_CHARS`].
pub fn check_length(field: &str, text: &str) -> Result<(), ValidationError> {
    if text.chars().count() > MAX_FIELD_CHARS {
        return Err(ValidationError::new(
            "text_too_long",
            format!("{field}: no máximo {MAX_FIELD_CHARS} caracteres"),
        ));
    }
    Ok(())
}

/// A required short clinical text (an allergy's substance, an addendum): trimmed, not
/// empty, at most `max` characters.
pub fn required_text(field: &str, text: &str, max: usize) -> Result<String, ValidationError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ValidationError::new(
            "missing_text",
            format!("{field}: obrigatório"),
        ));
    }
    if t.chars().count() > max {
        return Err(ValidationError::new(
            "text_too_long",
            format!("{field}: no máximo {max} caracteres"),
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnoses_must_exist_in_the_table_and_carry_its_description() {
        let mut c = EncounterContent {
            diagnoses: vec![Diagnosis {
                code: Cid10::parse("j11.1").expect("shape"),
                text: " gripe ".into(),
                description: "whatever the client sent".into(),
            }],
            ..Default::default()
        };
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.diagnoses[0].text, "gripe");
        assert!(c.diagnoses[0].description.starts_with("Influenza [gripe]"));
        c.diagnoses[0].code = Cid10::parse("J11.7").expect("shape");
        assert_eq!(c.validate().map_err(|e| e.code), Err("unknown_cid10"));
    }

    #[test]
    fn a_medicine_matches_an_allergy_by_whole_words_either_way_round() {
        assert!(allergy_matches("Dipirona", "DIPIRONA SÓDICA"));
        assert!(allergy_matches("dipirona sódica", "Dipirona 500 mg"));
        assert!(allergy_matches(
            "AAS (ácido acetilsalicílico)",
            "Acido acetilsalicilico"
        ));
        assert!(allergy_matches(
            "látex; penicilina",
            "Penicilina G benzatina"
        ));
        assert!(!allergy_matches("Dipirona", "Paracetamol"));
        assert!(!allergy_matches("Penicilina", "Amoxicilina"));
        assert!(!allergy_matches("", "Paracetamol"));
        assert!(!allergy_matches("dipirona", "500 mg"));
    }

    #[test]
    fn oversized_text_is_refused() {
        let mut c = EncounterContent {
            plan: "x".repeat(MAX_FIELD_CHARS + 1),
            ..Default::default()
        };
        assert_eq!(c.validate().map_err(|e| e.code), Err("text_too_long"));
    }
}
