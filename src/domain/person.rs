//! Fields that describe a person, each parsed once at the edge.

use chrono::{Datelike, NaiveDate};

use super::ValidationError;

/// A person's name as written (1–200 characters, no control characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        let collapsed: String = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err(ValidationError::new("invalid_name", "informe o nome"));
        }
        if collapsed.chars().count() > 200 {
            return Err(ValidationError::new(
                "invalid_name",
                "nome longo demais (máximo 200 caracteres)",
            ));
        }
        if collapsed
            .chars()
            .any(|c| c.is_control() || matches!(c, '<' | '>'))
        {
            return Err(ValidationError::new(
                "invalid_name",
                "o nome contém caracteres inválidos",
            ));
        }
        Ok(Self(collapsed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// An e-mail address, lower-cased. Deliberately simple: one `@`, a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("invalid_email", "e-mail inválido");
        let e = input.trim().to_lowercase();
        if e.len() > 254 || e.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = e.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(invalid());
        }
        Ok(Self(e))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A Brazilian phone number: 10 or 11 digits (DDD + number), optionally with +55.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let digits: String = input.chars().filter(char::is_ascii_digit).collect();
        let national = digits
            .strip_prefix("55")
            .filter(|_| digits.len() > 11)
            .unwrap_or(&digits);
        let bad_chars = input
            .chars()
            .any(|c| !(c.is_ascii_digit() || " ()+-.".contains(c)));
        if bad_chars || !(10..=11).contains(&national.len()) || national.starts_with('0') {
            return Err(ValidationError::new(
                "invalid_phone",
                "telefone inválido: use DDD e número, por exemplo (11) 91234-5678",
            ));
        }
        Ok(Self(format!("+55{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A birth date: not in the future and not before 1900.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    pub fn parse(input: &str, today: NaiveDate) -> Result<Self, ValidationError> {
        let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| {
            ValidationError::new(
                "invalid_birth_date",
                "data de nascimento inválida (use AAAA-MM-DD)",
            )
        })?;
        if date > today || date.year() < 1900 {
            return Err(ValidationError::new(
                "invalid_birth_date",
                "data de nascimento fora do intervalo aceito",
            ));
        }
        Ok(Self(date))
    }

    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// Full years on `today` (the birthday counts from its own day).
    pub fn age_on(&self, today: NaiveDate) -> i32 {
        age_on(self.0, today)
    }
}

/// Full years between a birth date and `today` (the birthday counts from its own day; a
/// 29 February birthday counts from 1 March in other years).
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years
}

/// A new password: 8 to 128 characters. Only ever held long enough to hash it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let n = input.chars().count();
        if n < 8 {
            return Err(ValidationError::new(
                "weak_password",
                "a senha precisa ter pelo menos 8 caracteres",
            ));
        }
        if n > 128 {
            return Err(ValidationError::new(
                "weak_password",
                "a senha pode ter no máximo 128 caracteres",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_collapsed() {
        assert_eq!(
            PersonName::parse("  Maria   da  Silva ")
                .expect("valid")
                .as_str(),
            "Maria da Silva"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("<script>").is_err());
    }

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            Email::parse(" Ana@Exemplo.COM.br ")
                .expect("valid")
                .as_str(),
            "ana@exemplo.com.br"
        );
        for bad in ["ana", "ana@", "@x.com", "ana@x", "a b@x.com", "a@x..com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        assert_eq!(
            Phone::parse("(11) 91234-5678").expect("valid").as_str(),
            "+5511912345678"
        );
        assert_eq!(
            Phone::parse("+55 81 3333-4444").expect("valid").as_str(),
            "+558133334444"
        );
        assert!(Phone::parse("1234").is_err());
        assert!(Phone::parse("11 9abc-5678").is_err());
    }

    #[test]
    fn birth_dates_must_be_plausible() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        assert!(BirthDate::parse("1990-05-17", today).is_ok());
        assert!(BirthDate::parse("2030-01-01", today).is_err());
        assert!(BirthDate::parse("17/05/1990", today).is_err());
        assert!(BirthDate::parse("1850-01-01", today).is_err());
    }

    #[test]
    fn passwords_need_eight_characters_and_never_print() {
        assert_eq!(
            Password::parse("short").expect_err("weak").code,
            "weak_password"
        );
        let p = Password::parse("correct horse").expect("ok");
        assert!(!format!("{p:?}").contains("horse"));
    }
}
