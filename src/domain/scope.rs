//! Scope of practice: which documents, and which medicine lists, each profession may issue
//! under its own council's law. One table per council ([`SCOPES`]); `docs/scope-of-practice.md`
//! gives the legal source of every line. Checked before a document is stored; a refusal is
//! `outside_scope_of_practice` with a pt-BR explanation naming the rule.

use serde::Serialize;

use super::ValidationError;
use super::document::{DocumentContent, DocumentKind, MedicineList};
use super::professional::{Council, Profession};

/// What one profession may issue.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Scope {
    pub profession: Profession,
    pub council: Council,
    /// The document kinds it issues.
    #[schema(value_type = Vec<DocumentKind>)]
    pub kinds: &'static [DocumentKind],
    /// The medicine lists its prescriptions may carry (empty: it prescribes no medicine).
    #[schema(value_type = Vec<MedicineList>)]
    pub medicine_lists: &'static [MedicineList],
    /// A certificate may state a CID-10 code only from these categories (prefixes, without
    /// the dot); `None`: any code; empty: none at all.
    #[schema(value_type = Option<Vec<String>>)]
    pub certificate_cid_prefixes: Option<&'static [&'static str]>,
    /// Printed on its prescriptions, when the law restricts their use (dentists).
    pub prescription_note: Option<&'static str>,
    /// The law behind this line (short; the docs page has the full reference).
    pub source: &'static str,
}

use DocumentKind as K;
use MedicineList as L;

/// CID-10 categories of the mouth, teeth and jaws (K00–K14) and their injuries (S02.4–S02.6
/// maxilla, teeth and mandible fractures; S03.0 and S03.2 jaw and tooth dislocation).
const DENTAL_CID: &[&str] = &[
    "K0", "K10", "K11", "K12", "K13", "K14", "S024", "S025", "S026", "S030", "S032",
];

/// The table, one line per council.
pub const SCOPES: [Scope; 6] = [
    Scope {
        profession: Profession::Doctor,
        council: Council::Crm,
        kinds: &[
            K::Prescription,
            K::SpecialPrescription,
            K::Certificate,
            K::ExamRequest,
            K::AttendanceDeclaration,
        ],
        medicine_lists: &[
            L::Common,
            L::Antimicrobial,
            L::Supplement,
            L::C1,
            L::C4,
            L::C5,
        ],
        certificate_cid_prefixes: None,
        prescription_note: None,
        source: "Lei 12.842/2013; CFM Res. 2.299/2021 e 1.658/2002; Portaria SVS/MS 344/98",
    },
    Scope {
        profession: Profession::Dentist,
        council: Council::Cro,
        kinds: &[
            K::Prescription,
            K::SpecialPrescription,
            K::Certificate,
            K::ExamRequest,
            K::AttendanceDeclaration,
        ],
        medicine_lists: &[L::Common, L::Antimicrobial, L::C1],
        certificate_cid_prefixes: Some(DENTAL_CID),
        prescription_note: Some("Uso odontológico (Lei 5.081/66, art. 6º, II)."),
        source: "Lei 5.081/66, art. 6º (II prescrever para uso odontológico, III atestar no setor de sua atividade); Portaria SVS/MS 344/98",
    },
    Scope {
        profession: Profession::Physiotherapist,
        council: Council::Crefito,
        kinds: &[K::Certificate, K::AttendanceDeclaration],
        medicine_lists: &[],
        certificate_cid_prefixes: Some(&[]),
        prescription_note: None,
        source: "Decreto-Lei 938/69; COFFITO Res. 381/2010 (atestados do fisioterapeuta, sem diagnóstico nosológico)",
    },
    Scope {
        profession: Profession::Psychologist,
        council: Council::Crp,
        kinds: &[K::AttendanceDeclaration, K::PsychologicalReport],
        medicine_lists: &[],
        certificate_cid_prefixes: Some(&[]),
        prescription_note: None,
        source: "Lei 4.119/62; CFP Res. 06/2019 (documentos escritos do psicólogo)",
    },
    Scope {
        profession: Profession::Nutritionist,
        council: Council::Crn,
        kinds: &[K::Prescription, K::ExamRequest, K::AttendanceDeclaration],
        medicine_lists: &[L::Supplement],
        certificate_cid_prefixes: Some(&[]),
        prescription_note: Some(
            "Prescrição dietética de suplementos alimentares (CFN Res. 656/2020).",
        ),
        source: "Lei 8.234/91, art. 4º, VIII (exames laboratoriais); CFN Res. 656/2020 (suplementos)",
    },
    Scope {
        profession: Profession::Nurse,
        council: Council::Coren,
        kinds: &[K::AttendanceDeclaration],
        medicine_lists: &[],
        certificate_cid_prefixes: Some(&[]),
        prescription_note: None,
        source: "Lei 7.498/86, art. 11, II, c (prescrição só em programas de saúde pública e rotina aprovada pela instituição, que o atende não modela)",
    },
];

/// The line of the table for `profession`.
pub fn scope_of(profession: Profession) -> &'static Scope {
    SCOPES
        .iter()
        .find(|s| s.profession == profession)
        .unwrap_or(&SCOPES[0])
}

/// Why a document is outside the issuer's scope (pt-BR, for people).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OutsideScope(pub String);

impl OutsideScope {
    /// The stable code of every refusal.
    pub const CODE: &'static str = "outside_scope_of_practice";
}

impl Scope {
    pub fn issues(&self, kind: DocumentKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// Check a (validated) document against this scope.
    pub fn check(&self, content: &DocumentContent) -> Result<(), OutsideScope> {
        let council = self.council.as_str();
        let kind = content.kind();
        if !self.issues(kind) {
            return Err(OutsideScope(format!(
                "{} não pode ser emitido(a) por profissional inscrito no {council} ({})",
                document_title(kind, self.council),
                self.source
            )));
        }
        for list in content.medicine_lists() {
            if !self.medicine_lists.contains(&list) {
                return Err(OutsideScope(format!(
                    "profissional inscrito no {council} não prescreve {} ({})",
                    list.label(),
                    self.source
                )));
            }
        }
        if let DocumentContent::Certificate { cid: Some(cid), .. } = content
            && let Some(prefixes) = self.certificate_cid_prefixes
        {
            let bare = cid.replace('.', "");
            if !prefixes.iter().any(|p| bare.starts_with(p)) {
                return Err(OutsideScope(if prefixes.is_empty() {
                    format!(
                        "profissional inscrito no {council} não declara diagnóstico (CID) em atestado ({})",
                        self.source
                    )
                } else {
                    format!(
                        "o CID {cid} está fora da área de atuação do {council}: o atestado vale só no setor da atividade do profissional ({})",
                        self.source
                    )
                }));
            }
        }
        Ok(())
    }
}

/// The title printed on a document issued by someone in `council`: a certificate is
/// "médico", "odontológico" or "fisioterapêutico" after who signs it, a nutritionist's
/// prescription is a "prescrição dietética".
pub fn document_title(kind: DocumentKind, council: Council) -> &'static str {
    match (kind, council) {
        (K::Certificate, Council::Cro) => "Atestado Odontológico",
        (K::Certificate, Council::Crefito) => "Atestado Fisioterapêutico",
        (K::Prescription, Council::Crn) => "Prescrição Dietética",
        _ => kind.title(),
    }
}

/// Parse a stored profession (unknown text is a validation error, never a panic).
pub fn scope_of_stored(profession: &str) -> Result<&'static Scope, ValidationError> {
    Profession::parse(profession).map(scope_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profession_has_one_line_under_its_own_council() {
        for p in Profession::ALL {
            let s = scope_of(p);
            assert_eq!(s.profession, p);
            assert_eq!(s.council, p.council());
            assert!(s.issues(K::AttendanceDeclaration), "{p:?}");
        }
    }

    #[test]
    fn psychologists_issue_no_prescription_and_no_medical_certificate() {
        let s = scope_of(Profession::Psychologist);
        for k in [
            K::Prescription,
            K::SpecialPrescription,
            K::Certificate,
            K::ExamRequest,
        ] {
            assert!(!s.issues(k), "{k:?}");
        }
        assert!(s.issues(K::PsychologicalReport));
        assert!(!scope_of(Profession::Doctor).issues(K::PsychologicalReport));
    }

    #[test]
    fn a_dentists_certificate_cites_only_dental_cid_codes() {
        let s = scope_of(Profession::Dentist);
        let cert = |cid: &str| DocumentContent::Certificate {
            days_off: 1,
            start_date: chrono::NaiveDate::default(),
            cid: Some(cid.into()),
            cid_consent: true,
            notes: None,
        };
        assert!(s.check(&cert("K08.8")).is_ok());
        assert!(s.check(&cert("S02.5")).is_ok());
        assert!(s.check(&cert("J11")).is_err());
        assert!(s.check(&cert("K35")).is_err());
        assert!(
            scope_of(Profession::Physiotherapist)
                .check(&cert("M54.5"))
                .is_err()
        );
        assert!(scope_of(Profession::Doctor).check(&cert("J11")).is_ok());
    }
}
