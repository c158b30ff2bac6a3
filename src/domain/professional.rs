//! Health professionals and their council registrations (CRM, CRO, CREFITO, CRP, CRN, COREN).

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// What the professional does; each profession answers to one council.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Profession {
    Doctor,
    Dentist,
    Physiotherapist,
    Psychologist,
    Nutritionist,
    Nurse,
}

impl Profession {
    pub const ALL: [Profession; 6] = [
        Profession::Doctor,
        Profession::Dentist,
        Profession::Physiotherapist,
        Profession::Psychologist,
        Profession::Nutritionist,
        Profession::Nurse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Profession::Doctor => "doctor",
            Profession::Dentist => "dentist",
            Profession::Physiotherapist => "physiotherapist",
            Profession::Psychologist => "psychologist",
            Profession::Nutritionist => "nutritionist",
            Profession::Nurse => "nurse",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ValidationError::new("invalid_profession", "profissão desconhecida"))
    }

    /// The council that registers this profession.
    pub fn council(self) -> Council {
        match self {
            Profession::Doctor => Council::Crm,
            Profession::Dentist => Council::Cro,
            Profession::Physiotherapist => Council::Crefito,
            Profession::Psychologist => Council::Crp,
            Profession::Nutritionist => Council::Crn,
            Profession::Nurse => Council::Coren,
        }
    }
}

/// A professional's gender, as they gave it: the words about them agree with it ("Dra.",
/// "Médica", "Cirurgiã-dentista"). Not given, the app uses neutral forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "female" => Ok(Gender::Female),
            "male" => Ok(Gender::Male),
            _ => Err(ValidationError::new(
                "invalid_gender",
                "gênero deve ser female (feminino) ou male (masculino)",
            )),
        }
    }
}

/// A professional council (conselho de classe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Council {
    Crm,
    Cro,
    Crefito,
    Crp,
    Crn,
    Coren,
}

impl Council {
    pub const ALL: [Council; 6] = [
        Council::Crm,
        Council::Cro,
        Council::Crefito,
        Council::Crp,
        Council::Crn,
        Council::Coren,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Council::Crm => "CRM",
            Council::Cro => "CRO",
            Council::Crefito => "CREFITO",
            Council::Crp => "CRP",
            Council::Crn => "CRN",
            Council::Coren => "COREN",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let upper = s.trim().to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == upper)
            .ok_or_else(|| ValidationError::new("invalid_council", "conselho desconhecido"))
    }
}

/// The 27 federative units, where a council registration is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uf(&'static str);

const UFS: [&str; 27] = [
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR",
    "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
];

impl Uf {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let upper = s.trim().to_ascii_uppercase();
        UFS.iter()
            .find(|u| **u == upper)
            .map(|u| Uf(u))
            .ok_or_else(|| ValidationError::new("invalid_uf", "UF inválida"))
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// A registration number in a council: digits, optionally with the council's usual
/// decorations (CRP's region prefix `06/`, CREFITO's category suffix `-F`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouncilNumber(String);

impl CouncilNumber {
    pub fn parse(council: Council, input: &str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "invalid_council_number",
                format!("número de registro no {} inválido", council.as_str()),
            )
        };
        let s: String = input
            .trim()
            .chars()
            .filter(|c| *c != '.' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let (prefix, rest) = match (council, s.split_once('/')) {
            (Council::Crp, Some((region, rest)))
                if region.len() == 2 && region.chars().all(|c| c.is_ascii_digit()) =>
            {
                (Some(region), rest)
            }
            (_, Some(_)) => return Err(invalid()),
            (_, None) => (None, s.as_str()),
        };
        let (number, suffix) = match rest.split_once('-') {
            Some((n, suf)) => (n, Some(suf)),
            None => (rest, None),
        };
        let number_ok =
            (1..=8).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit());
        let suffix_ok = match suffix {
            None => true,
            Some(suf) => {
                matches!(council, Council::Crefito | Council::Crn | Council::Coren)
                    && (1..=3).contains(&suf.len())
                    && suf.chars().all(|c| c.is_ascii_uppercase())
            }
        };
        if !number_ok || !suffix_ok || number.chars().all(|c| c == '0') {
            return Err(invalid());
        }
        let mut out = String::new();
        if let Some(p) = prefix {
            out.push_str(p);
            out.push('/');
        }
        out.push_str(number);
        if let Some(suf) = suffix {
            out.push('-');
            out.push_str(suf);
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn council_numbers_accept_each_councils_form() {
        assert_eq!(
            CouncilNumber::parse(Council::Crm, "123.456")
                .expect("ok")
                .as_str(),
            "123456"
        );
        assert_eq!(
            CouncilNumber::parse(Council::Crp, "06/123456")
                .expect("ok")
                .as_str(),
            "06/123456"
        );
        assert_eq!(
            CouncilNumber::parse(Council::Crefito, "12345-f")
                .expect("ok")
                .as_str(),
            "12345-F"
        );
    }

    #[test]
    fn bad_council_numbers_are_rejected_with_a_code() {
        for (council, bad) in [
            (Council::Crm, "12A45"),
            (Council::Crm, ""),
            (Council::Crm, "123456789"),
            (Council::Crm, "1234-F"),
            (Council::Crm, "06/1234"),
            (Council::Crm, "0000"),
        ] {
            assert_eq!(
                CouncilNumber::parse(council, bad).expect_err(bad).code,
                "invalid_council_number"
            );
        }
    }

    #[test]
    fn each_profession_has_its_council() {
        assert_eq!(Profession::Dentist.council(), Council::Cro);
        assert_eq!(Profession::parse("doctor").expect("ok"), Profession::Doctor);
        assert!(Uf::parse("sp").is_ok());
        assert_eq!(Uf::parse("XX").expect_err("bad").code, "invalid_uf");
    }
}
