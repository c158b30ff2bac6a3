//! What a signed clinical document says: prescriptions (simple and special-control), medical
//! certificates and exam requests. Pure types and the rules their content must follow
//! (CFM Res. 2.299/2021, Portaria SVS/MS 344/98, CFM 1.658/2002); rendering and signing live in
//! `crate::documents`.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::ValidationError;
use super::stored::stored_as_text;

/// The kinds of document a professional can issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Prescription,
    SpecialPrescription,
    Certificate,
    ExamRequest,
    /// Declaração de comparecimento: the patient attended, on a date (every profession).
    AttendanceDeclaration,
    /// Relatório psicológico (CFP Res. 06/2019): psychologists only.
    PsychologicalReport,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Prescription,
        DocumentKind::SpecialPrescription,
        DocumentKind::Certificate,
        DocumentKind::ExamRequest,
        DocumentKind::AttendanceDeclaration,
        DocumentKind::PsychologicalReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::Prescription => "prescription",
            DocumentKind::SpecialPrescription => "special_prescription",
            DocumentKind::Certificate => "certificate",
            DocumentKind::ExamRequest => "exam_request",
            DocumentKind::AttendanceDeclaration => "attendance_declaration",
            DocumentKind::PsychologicalReport => "psychological_report",
        }
    }

    /// The signed file's name: `special-prescription-ABCD2345.pdf`.
    pub fn file_name(self, code: &str) -> String {
        format!("{}-{code}.pdf", self.as_str().replace('_', "-"))
    }

    /// The title printed on the document (pt-BR), whoever issues it; the issuer's council
    /// may print a more precise one (`scope::document_title`).
    pub fn title(self) -> &'static str {
        match self {
            DocumentKind::Prescription => "Receituário",
            DocumentKind::SpecialPrescription => "Receituário de Controle Especial",
            DocumentKind::Certificate => "Atestado Médico",
            DocumentKind::ExamRequest => "Solicitação de Exames",
            DocumentKind::AttendanceDeclaration => "Declaração de Comparecimento",
            DocumentKind::PsychologicalReport => "Relatório Psicológico",
        }
    }

    /// The ITI validator's document-type OID (written into the PDF's metadata), where ITI
    /// defines one: prescription .1, certificate .2, exam request .3, report .4. An
    /// attendance declaration has none.
    pub fn iti_oid(self) -> Option<&'static str> {
        match self {
            DocumentKind::Prescription | DocumentKind::SpecialPrescription => {
                Some("2.16.76.1.12.1.1")
            }
            DocumentKind::Certificate => Some("2.16.76.1.12.1.2"),
            DocumentKind::ExamRequest => Some("2.16.76.1.12.1.3"),
            DocumentKind::PsychologicalReport => Some("2.16.76.1.12.1.4"),
            DocumentKind::AttendanceDeclaration => None,
        }
    }

    /// The copies printed, one page group each. Special-control prescriptions go in two:
    /// the pharmacy keeps the first, the patient the second.
    pub fn copies(self) -> &'static [&'static str] {
        match self {
            DocumentKind::SpecialPrescription => &[
                "1ª via – Retenção da Farmácia ou Drogaria",
                "2ª via – Orientação ao Paciente",
            ],
            _ => &[""],
        }
    }

    /// Printed on the form of Portaria SVS/MS 344/98 (Anexo XVII): the patient's full
    /// address under their name, and on each copy the blocks the pharmacy fills in when it
    /// dispenses — the buyer's identification and the supplier's (pharmacist, date). Such a
    /// document cannot be issued without the patient's address.
    pub fn special_control_form(self) -> bool {
        self == DocumentKind::SpecialPrescription
    }
}

stored_as_text!(
    DocumentKind,
    "invalid_kind",
    "tipo de documento desconhecido"
);

/// Where a document's signature stands: stored and queued (`pending`), signed, or given up
/// on (`failed`, with a reason). Revocation is not a status: a revoked document keeps its
/// status and gains `revoked_at` (see [`PublicStatus`]). Stored as the same snake_case text
/// in `documents.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    Pending,
    Signed,
    Failed,
}

impl DocumentStatus {
    pub const ALL: [DocumentStatus; 3] = [
        DocumentStatus::Pending,
        DocumentStatus::Signed,
        DocumentStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Pending => "pending",
            DocumentStatus::Signed => "signed",
            DocumentStatus::Failed => "failed",
        }
    }

    /// The only moves a document makes: the signer stores its file (pending → signed) or
    /// gives up (pending → failed: a key that cannot sign, a signer that keeps crashing).
    /// Signed and failed are final.
    pub fn can_become(self, to: DocumentStatus) -> bool {
        use DocumentStatus::*;
        matches!((self, to), (Pending, Signed) | (Pending, Failed))
    }
}

stored_as_text!(
    DocumentStatus,
    "invalid_status",
    "situação de documento desconhecida"
);

/// What public verification says of a document: its status, or `revoked` once its issuer
/// took it back (whatever its status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PublicStatus {
    Pending,
    Signed,
    Failed,
    Revoked,
}

impl PublicStatus {
    pub fn of(status: DocumentStatus, revoked: bool) -> Self {
        match (revoked, status) {
            (true, _) => PublicStatus::Revoked,
            (false, DocumentStatus::Pending) => PublicStatus::Pending,
            (false, DocumentStatus::Signed) => PublicStatus::Signed,
            (false, DocumentStatus::Failed) => PublicStatus::Failed,
        }
    }
}

/// One medication line of a prescription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Medication {
    /// Active ingredient or brand name, e.g. "Amoxicilina".
    pub name: String,
    /// e.g. "500 mg".
    #[serde(default)]
    pub concentration: String,
    /// Pharmaceutical form, e.g. "cápsula".
    #[serde(default)]
    pub form: String,
    /// How much to dispense, e.g. "21 cápsulas" or "1 caixa".
    pub quantity: String,
    /// How to take it, e.g. "1 cápsula de 8 em 8 horas por 7 dias".
    pub instructions: String,
    /// The list the medicine belongs to. Default: `common` on a prescription, `c1` on a
    /// special-control prescription.
    #[serde(default)]
    pub list: Option<MedicineList>,
}

/// The regulatory list of a medicine, which decides the form it is prescribed on and who
/// may prescribe it (`scope`): Portaria SVS/MS 344/98 lists (A1–A3, B1, B2 on the official
/// paper Notificação de Receita; C2, C3 on their own notifications; C1, C4, C5 on a
/// special-control prescription), antimicrobials (RDC 471/2021, simple prescription
/// retained by the pharmacy), dietary supplements (RDC 243/2018), everything else common.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MedicineList {
    Common,
    Antimicrobial,
    Supplement,
    C1,
    C2,
    C3,
    C4,
    C5,
    A1,
    A2,
    A3,
    B1,
    B2,
}

impl MedicineList {
    pub const ALL: [MedicineList; 13] = [
        MedicineList::Common,
        MedicineList::Antimicrobial,
        MedicineList::Supplement,
        MedicineList::C1,
        MedicineList::C2,
        MedicineList::C3,
        MedicineList::C4,
        MedicineList::C5,
        MedicineList::A1,
        MedicineList::A2,
        MedicineList::A3,
        MedicineList::B1,
        MedicineList::B2,
    ];

    /// How people name it (pt-BR).
    pub fn label(self) -> &'static str {
        match self {
            MedicineList::Common => "medicamento comum",
            MedicineList::Antimicrobial => "antimicrobiano (RDC 471/2021)",
            MedicineList::Supplement => "suplemento alimentar",
            MedicineList::C1 => "lista C1 (Portaria 344/98)",
            MedicineList::C2 => "lista C2 (retinoides)",
            MedicineList::C3 => "lista C3 (imunossupressores)",
            MedicineList::C4 => "lista C4 (antirretrovirais)",
            MedicineList::C5 => "lista C5 (anabolizantes)",
            MedicineList::A1 => "lista A1 (entorpecentes)",
            MedicineList::A2 => "lista A2 (entorpecentes)",
            MedicineList::A3 => "lista A3 (psicotrópicos)",
            MedicineList::B1 => "lista B1 (psicotrópicos)",
            MedicineList::B2 => "lista B2 (anorexígenos)",
        }
    }

    /// Lists whose prescription is the official paper form (Notificação de Receita A, B,
    /// B2, and the special notifications of C2 and C3): never a digital document.
    pub fn needs_paper_notification(self) -> bool {
        use MedicineList::*;
        matches!(self, A1 | A2 | A3 | B1 | B2 | C2 | C3)
    }

    /// Lists a special-control prescription (two copies) carries.
    pub fn is_special_control(self) -> bool {
        matches!(self, MedicineList::C1 | MedicineList::C4 | MedicineList::C5)
    }
}

/// One exam of an exam request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exam {
    /// e.g. "Hemograma completo".
    pub name: String,
    /// TUSS code, when the clinic uses one.
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

/// The body of a document, tagged by `kind`. Unknown fields anywhere are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DocumentContent {
    Prescription {
        medications: Vec<Medication>,
        #[serde(default)]
        notes: Option<String>,
    },
    SpecialPrescription {
        medications: Vec<Medication>,
        #[serde(default)]
        notes: Option<String>,
    },
    Certificate {
        /// Days away from work or school, counted from `start_date` (1–365).
        days_off: i64,
        start_date: NaiveDate,
        /// ICD-10 code (CID-10); printed only when `cid_consent` is true.
        #[serde(default)]
        cid: Option<String>,
        /// The patient expressly agreed to the diagnosis being stated (CFM 1.658/2002).
        #[serde(default)]
        cid_consent: bool,
        #[serde(default)]
        notes: Option<String>,
    },
    ExamRequest {
        exams: Vec<Exam>,
        #[serde(default)]
        clinical_indication: Option<String>,
    },
    AttendanceDeclaration {
        /// The day the patient attended (at most 30 days from today).
        date: NaiveDate,
        /// From when to when, `HH:MM`, when stated.
        #[serde(default)]
        from: Option<NaiveTime>,
        #[serde(default)]
        until: Option<NaiveTime>,
        #[serde(default)]
        notes: Option<String>,
    },
    /// The sections of a psychological report (CFP Res. 06/2019, art. 11).
    PsychologicalReport {
        /// Who asked for it and why (descrição da demanda).
        demand: String,
        /// Procedures used (procedimento).
        #[serde(default)]
        procedure: Option<String>,
        /// Analysis (análise).
        analysis: String,
        /// Conclusion (conclusão).
        conclusion: String,
    },
}

const MAX_ITEMS: usize = 40;
const MAX_FIELD: usize = 500;
const MAX_NOTES: usize = 4000;

impl DocumentContent {
    pub fn kind(&self) -> DocumentKind {
        match self {
            DocumentContent::Prescription { .. } => DocumentKind::Prescription,
            DocumentContent::SpecialPrescription { .. } => DocumentKind::SpecialPrescription,
            DocumentContent::Certificate { .. } => DocumentKind::Certificate,
            DocumentContent::ExamRequest { .. } => DocumentKind::ExamRequest,
            DocumentContent::AttendanceDeclaration { .. } => DocumentKind::AttendanceDeclaration,
            DocumentContent::PsychologicalReport { .. } => DocumentKind::PsychologicalReport,
        }
    }

    /// The medicines of a prescription with their lists (defaults applied), empty for
    /// other kinds.
    pub fn medicine_lists(&self) -> Vec<MedicineList> {
        match self {
            DocumentContent::Prescription { medications, .. } => medications
                .iter()
                .map(|m| m.list.unwrap_or(MedicineList::Common))
                .collect(),
            DocumentContent::SpecialPrescription { medications, .. } => medications
                .iter()
                .map(|m| m.list.unwrap_or(MedicineList::C1))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether a prescription carries an antimicrobial (RDC ANVISA 471/2021: two copies, the
    /// first retained by the pharmacy, valid for 10 days from its issue).
    pub fn has_antimicrobial(&self) -> bool {
        matches!(self, DocumentContent::Prescription { .. })
            && self.medicine_lists().contains(&MedicineList::Antimicrobial)
    }

    /// The copies printed, one page group each: the kind's ([`DocumentKind::copies`]), and
    /// two for a prescription with an antimicrobial.
    pub fn copies(&self) -> &'static [&'static str] {
        if self.has_antimicrobial() {
            return &[
                "1ª via – Retenção da Farmácia ou Drogaria",
                "2ª via – Paciente",
            ];
        }
        self.kind().copies()
    }

    /// Check the content against the rules; trims text in place. `today` is the clinic's
    /// local date (a certificate may not start more than 30 days before or after it).
    pub fn validate(&mut self, today: NaiveDate) -> Result<(), ValidationError> {
        let self_kind = self.kind();
        match self {
            DocumentContent::Prescription { medications, notes }
            | DocumentContent::SpecialPrescription { medications, notes } => {
                if medications.is_empty() {
                    return Err(ValidationError::new(
                        "no_medications",
                        "informe ao menos um medicamento",
                    ));
                }
                if medications.len() > MAX_ITEMS {
                    return Err(ValidationError::new(
                        "too_many_items",
                        format!("no máximo {MAX_ITEMS} medicamentos por receita"),
                    ));
                }
                let special = matches!(self_kind, DocumentKind::SpecialPrescription);
                for (i, m) in medications.iter_mut().enumerate() {
                    let n = i + 1;
                    list_fits(m, special, n)?;
                    required(&mut m.name, "medicamento", n)?;
                    optional_text(&mut m.concentration, "concentração")?;
                    optional_text(&mut m.form, "forma farmacêutica")?;
                    required(&mut m.quantity, "quantidade", n)?;
                    required(&mut m.instructions, "posologia", n)?;
                }
                notes_text(notes)?;
            }
            DocumentContent::Certificate {
                days_off,
                start_date,
                cid,
                cid_consent,
                notes,
            } => {
                if !(1..=365).contains(days_off) {
                    return Err(ValidationError::new(
                        "invalid_days",
                        "o afastamento deve ser de 1 a 365 dias",
                    ));
                }
                let delta = (*start_date - today).num_days();
                if !(-30..=30).contains(&delta) {
                    return Err(ValidationError::new(
                        "invalid_start_date",
                        "o início do afastamento deve estar a no máximo 30 dias de hoje",
                    ));
                }
                if let Some(c) = cid {
                    let code = c.trim().to_ascii_uppercase();
                    if code.is_empty() {
                        *cid = None;
                    } else {
                        if !is_icd10(&code) {
                            return Err(ValidationError::new(
                                "invalid_cid",
                                "CID inválido (ex.: J11 ou M54.5)",
                            ));
                        }
                        if !*cid_consent {
                            return Err(ValidationError::new(
                                "cid_consent_required",
                                "o CID só pode constar no atestado com o consentimento expresso do paciente",
                            ));
                        }
                        *c = code;
                    }
                }
                notes_text(notes)?;
            }
            DocumentContent::ExamRequest {
                exams,
                clinical_indication,
            } => {
                if exams.is_empty() {
                    return Err(ValidationError::new(
                        "no_exams",
                        "informe ao menos um exame",
                    ));
                }
                if exams.len() > MAX_ITEMS {
                    return Err(ValidationError::new(
                        "too_many_items",
                        format!("no máximo {MAX_ITEMS} exames por solicitação"),
                    ));
                }
                for (i, e) in exams.iter_mut().enumerate() {
                    required(&mut e.name, "exame", i + 1)?;
                    if let Some(c) = &mut e.code {
                        optional_text(c, "código do exame")?;
                    }
                    notes_text(&mut e.notes)?;
                }
                notes_text(clinical_indication)?;
            }
            DocumentContent::AttendanceDeclaration {
                date,
                from,
                until,
                notes,
            } => {
                if !(-30..=30).contains(&(*date - today).num_days()) {
                    return Err(ValidationError::new(
                        "invalid_date",
                        "a data do comparecimento deve estar a no máximo 30 dias de hoje",
                    ));
                }
                if let (Some(f), Some(u)) = (from, until)
                    && u <= f
                {
                    return Err(ValidationError::new(
                        "invalid_period",
                        "o horário final deve ser depois do inicial",
                    ));
                }
                notes_text(notes)?;
            }
            DocumentContent::PsychologicalReport {
                demand,
                procedure,
                analysis,
                conclusion,
            } => {
                for (text, what) in [
                    (demand, "descrição da demanda"),
                    (analysis, "análise"),
                    (conclusion, "conclusão"),
                ] {
                    *text = text.trim().to_string();
                    if text.is_empty() {
                        return Err(ValidationError::new(
                            "missing_field",
                            format!("informe {what}"),
                        ));
                    }
                    printable(text, what, MAX_NOTES)?;
                }
                notes_text(procedure)?;
            }
        }
        Ok(())
    }
}

/// A medicine's list must fit the form: a simple prescription carries common medicines,
/// antimicrobials and supplements; a special-control one lists C1, C4 and C5; lists on the
/// official paper notification are refused with that explanation.
fn list_fits(m: &mut Medication, special: bool, line: usize) -> Result<(), ValidationError> {
    let list = *m.list.get_or_insert(if special {
        MedicineList::C1
    } else {
        MedicineList::Common
    });
    if list.needs_paper_notification() {
        return Err(ValidationError::new(
            "notification_required",
            format!(
                "item {line}: {} exige a Notificação de Receita oficial em papel \
                 (Portaria SVS/MS 344/98); não pode ser emitida digitalmente",
                list.label()
            ),
        ));
    }
    if special != list.is_special_control() {
        let needs = if list.is_special_control() {
            "receita de controle especial"
        } else {
            "receita simples"
        };
        return Err(ValidationError::new(
            "wrong_prescription_form",
            format!("item {line}: {} vai em {needs}", list.label()),
        ));
    }
    Ok(())
}

/// `A00`–`Z99`, optionally followed by `.` and one digit.
fn is_icd10(code: &str) -> bool {
    let b = code.as_bytes();
    let head =
        b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    match b.len() {
        3 => head,
        5 => head && b[3] == b'.' && b[4].is_ascii_digit(),
        4 => head && b[3].is_ascii_digit(),
        _ => false,
    }
}

fn required(s: &mut String, what: &str, line: usize) -> Result<(), ValidationError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(ValidationError::new(
            "missing_field",
            format!("item {line}: informe {what}"),
        ));
    }
    *s = t.to_string();
    printable(s, what, MAX_FIELD)
}

fn optional_text(s: &mut String, what: &str) -> Result<(), ValidationError> {
    *s = s.trim().to_string();
    printable(s, what, MAX_FIELD)
}

fn notes_text(n: &mut Option<String>) -> Result<(), ValidationError> {
    if let Some(s) = n {
        *s = s.trim().to_string();
        if s.is_empty() {
            *n = None;
        } else {
            printable(s, "observações", MAX_NOTES)?;
        }
    }
    Ok(())
}

/// Text must fit the document's font (Latin-1 plus the typographic characters of
/// WinAnsi): anything else would print as `?`, so it is refused with the character named.
fn printable(s: &str, what: &str, max: usize) -> Result<(), ValidationError> {
    if s.chars().count() > max {
        return Err(ValidationError::new(
            "field_too_long",
            format!("{what}: no máximo {max} caracteres"),
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || !is_winansi(c))
    {
        return Err(ValidationError::new(
            "unsupported_character",
            format!("{what}: o caractere {c:?} não pode ser impresso no documento"),
        ));
    }
    Ok(())
}

/// Characters the standard PDF fonts can show (WinAnsiEncoding).
pub fn is_winansi(c: char) -> bool {
    matches!(c as u32, 0x0A | 0x20..=0x7E | 0xA0..=0xFF)
        || matches!(
            c,
            '€' | '‚'
                | 'ƒ'
                | '„'
                | '…'
                | '†'
                | '‡'
                | 'ˆ'
                | '‰'
                | 'Š'
                | '‹'
                | 'Œ'
                | 'Ž'
                | '‘'
                | '’'
                | '“'
                | '”'
                | '•'
                | '–'
                | '—'
                | '˜'
                | '™'
                | 'š'
                | '›'
                | 'œ'
                | 'ž'
                | 'Ÿ'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_signed_or_fails_once_and_only_from_pending() {
        use DocumentStatus::*;
        let allowed = [(Pending, Signed), (Pending, Failed)];
        for from in DocumentStatus::ALL {
            for to in DocumentStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
        assert!(!Signed.can_become(Pending));
        assert!(!Failed.can_become(Signed));
        assert!(!Pending.can_become(Pending));
    }

    #[test]
    fn statuses_and_kinds_round_trip_their_stored_text() {
        for s in DocumentStatus::ALL {
            assert_eq!(DocumentStatus::parse(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::try_from(k.as_str().to_string()), Ok(k));
        }
        assert!(DocumentStatus::parse("revoked").is_err());
        assert_eq!(
            PublicStatus::of(DocumentStatus::Signed, true),
            PublicStatus::Revoked
        );
        assert_eq!(
            serde_json::to_value(PublicStatus::of(DocumentStatus::Failed, false)).expect("json"),
            serde_json::json!("failed")
        );
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default()
    }

    fn parse(v: serde_json::Value) -> Result<DocumentContent, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn prescription_parses_and_trims() {
        let mut c = parse(serde_json::json!({"kind": "prescription", "medications": [
            {"name": " Amoxicilina ", "concentration": "500 mg", "form": "cápsula",
             "quantity": "21 cápsulas", "instructions": "1 cápsula de 8/8 h por 7 dias"}]}))
        .unwrap();
        c.validate(today()).unwrap();
        let DocumentContent::Prescription { medications, .. } = c else {
            panic!("kind")
        };
        assert_eq!(medications[0].name, "Amoxicilina");
    }

    #[test]
    fn unknown_medication_field_is_refused() {
        let e = parse(serde_json::json!({"kind": "prescription", "medications": [
            {"name": "A", "quantity": "1", "instructions": "x", "dose": "2"}]}))
        .unwrap_err();
        assert!(e.contains("unknown field `dose`"), "{e}");
        assert!(parse(serde_json::json!({"kind": "recipe"})).is_err());
    }

    #[test]
    fn certificate_rules() {
        let cert = |days: i64, cid: Option<&str>, consent: bool| {
            let mut c = parse(serde_json::json!({"kind": "certificate", "days_off": days,
                "start_date": "2026-11-23", "cid": cid, "cid_consent": consent}))
            .unwrap();
            c.validate(today()).map(|_| c).map_err(|e| e.code)
        };
        assert_eq!(cert(-2, None, false).unwrap_err(), "invalid_days");
        assert_eq!(cert(0, None, false).unwrap_err(), "invalid_days");
        assert_eq!(
            cert(3, Some("J11"), false).unwrap_err(),
            "cid_consent_required"
        );
        assert_eq!(cert(3, Some("J1"), true).unwrap_err(), "invalid_cid");
        assert!(cert(3, Some("m54.5"), true).is_ok());
        assert!(cert(3, Some(" "), false).is_ok());
        let mut far = parse(serde_json::json!({"kind": "certificate", "days_off": 1,
            "start_date": "2027-03-01"}))
        .unwrap();
        assert_eq!(
            far.validate(today()).unwrap_err().code,
            "invalid_start_date"
        );
    }

    #[test]
    fn empty_lists_and_unprintable_text() {
        let mut c = parse(serde_json::json!({"kind": "exam_request", "exams": []})).unwrap();
        assert_eq!(c.validate(today()).unwrap_err().code, "no_exams");
        let mut c = parse(serde_json::json!({"kind": "exam_request",
            "exams": [{"name": "Glicemia 🩸"}]}))
        .unwrap();
        assert_eq!(
            c.validate(today()).unwrap_err().code,
            "unsupported_character"
        );
        let mut c = parse(
            serde_json::json!({"kind": "special_prescription", "medications": [
            {"name": "Clonazepam", "concentration": "2 mg", "form": "comprimido",
             "quantity": "30 comprimidos (trinta)", "instructions": "1 à noite — ação"}]}),
        )
        .unwrap();
        assert!(c.validate(today()).is_ok());
        assert_eq!(c.copies().len(), 2);
        assert!(!c.has_antimicrobial());
    }

    #[test]
    fn a_prescription_with_an_antimicrobial_goes_in_two_copies() {
        let with = |list: &str| {
            parse(serde_json::json!({"kind": "prescription", "medications": [
                {"name": "Dipirona", "quantity": "1 frasco", "instructions": "se dor"},
                {"name": "Amoxicilina", "quantity": "21 cápsulas", "instructions": "8/8 h",
                 "list": list}]}))
            .unwrap()
        };
        let amoxicillin = with("antimicrobial");
        assert!(amoxicillin.has_antimicrobial());
        assert_eq!(amoxicillin.copies()[1], "2ª via – Paciente");
        let common = with("common");
        assert!(!common.has_antimicrobial());
        assert_eq!(common.copies(), &[""]);
    }
}
