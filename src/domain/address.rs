//! A Brazilian postal address: a clinic's, and a patient's (Portaria SVS/MS 344/98 asks for
//! the patient's full address on a special-control prescription). One rule for both: every
//! part but the complement present, a known UF, and a CEP of eight digits.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Uf, ValidationError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Logradouro.
    pub street: String,
    pub number: String,
    #[serde(default)]
    pub complement: Option<String>,
    /// Bairro.
    pub district: String,
    pub city: String,
    /// Two-letter federative unit, e.g. `SP`.
    pub uf: String,
    /// CEP: eight digits, stored and shown as `00000-000`.
    pub postal_code: String,
}

impl Address {
    /// The address as given, checked and tidied: parts trimmed, the UF in capitals, the CEP
    /// as `00000-000`, an empty complement gone. `invalid_postal_code` for a CEP that is not
    /// eight digits (dots and a dash allowed), `invalid_uf`, else `invalid_address` naming the
    /// part.
    pub fn parse(&self) -> Result<Self, ValidationError> {
        let part = |v: &str, name: &str, max: usize| -> Result<String, ValidationError> {
            let t = v.trim();
            if t.is_empty() || t.chars().count() > max || t.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "invalid_address",
                    format!("endereço: campo {name} inválido"),
                ));
            }
            Ok(t.to_string())
        };
        let cep: String = self
            .postal_code
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if cep.len() != 8
            || self
                .postal_code
                .trim()
                .chars()
                .any(|c| !(c.is_ascii_digit() || c == '-' || c == '.'))
        {
            return Err(ValidationError::new("invalid_postal_code", "CEP inválido"));
        }
        Ok(Self {
            street: part(&self.street, "logradouro", 200)?,
            number: part(&self.number, "número", 20)?,
            complement: self
                .complement
                .as_deref()
                .filter(|c| !c.trim().is_empty())
                .map(|c| part(c, "complemento", 100))
                .transpose()?,
            district: part(&self.district, "bairro", 100)?,
            city: part(&self.city, "cidade", 100)?,
            uf: Uf::parse(&self.uf)?.as_str().to_string(),
            postal_code: format!("{}-{}", &cep[..5], &cep[5..]),
        })
    }

    /// On one line, as printed: "Rua da Aurora, 100 (sala 2) – Boa Vista, Recife/PE – CEP
    /// 50050-000".
    pub fn one_line(&self) -> String {
        let complement = self
            .complement
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        format!(
            "{}, {}{complement} – {}, {}/{} – CEP {}",
            self.street, self.number, self.district, self.city, self.uf, self.postal_code
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aurora() -> Address {
        Address {
            street: " Rua da Aurora ".into(),
            number: "100".into(),
            complement: Some("  ".into()),
            district: "Boa Vista".into(),
            city: "Recife".into(),
            uf: "pe".into(),
            postal_code: "50.050000".into(),
        }
    }

    #[test]
    fn an_address_is_tidied() {
        let a = aurora().parse().unwrap();
        assert_eq!(a.street, "Rua da Aurora");
        assert_eq!(a.complement, None);
        assert_eq!(a.uf, "PE");
        assert_eq!(a.postal_code, "50050-000");
        assert_eq!(
            a.one_line(),
            "Rua da Aurora, 100 – Boa Vista, Recife/PE – CEP 50050-000"
        );
    }

    #[test]
    fn each_rule_has_its_code() {
        let with = |f: fn(&mut Address)| {
            let mut a = aurora();
            f(&mut a);
            a.parse().unwrap_err().code
        };
        assert_eq!(
            with(|a| a.postal_code = "5005-000".into()),
            "invalid_postal_code"
        );
        assert_eq!(
            with(|a| a.postal_code = "50050-00a".into()),
            "invalid_postal_code"
        );
        assert_eq!(with(|a| a.uf = "XX".into()), "invalid_uf");
        assert_eq!(with(|a| a.street = " ".into()), "invalid_address");
        assert_eq!(with(|a| a.city = "Re\ncife".into()), "invalid_address");
        assert_eq!(with(|a| a.number = "1".repeat(21)), "invalid_address");
    }
}
