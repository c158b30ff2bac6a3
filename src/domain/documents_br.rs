//! Brazilian registry numbers: CPF (people) and CNPJ (companies), with check digits.

use std::fmt;

use serde::{Serialize, Serializer};

use super::ValidationError;

/// A valid CPF, stored as its 11 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpf(String);

impl Cpf {
    /// Accepts `52998224725` or `529.982.247-25`; checks both check digits.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("invalid_cpf", "CPF inválido");
        let cleaned: String = input
            .chars()
            .filter(|c| !matches!(c, '.' | '-' | ' '))
            .collect();
        if cleaned.len() != 11 || !cleaned.chars().all(|c| c.is_ascii_digit()) {
            return Err(invalid());
        }
        let d: Vec<u32> = cleaned.bytes().map(|b| u32::from(b - b'0')).collect();
        if d.iter().all(|&x| x == d[0]) {
            return Err(invalid());
        }
        let check = |len: usize| {
            let sum: u32 = (0..len).map(|i| d[i] * (len as u32 + 1 - i as u32)).sum();
            let r = (sum * 10) % 11;
            if r == 10 { 0 } else { r }
        };
        if check(9) != d[9] || check(10) != d[10] {
            return Err(invalid());
        }
        Ok(Self(cleaned))
    }

    /// The 11 digits, as stored.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Rebuild from stored digits (already validated when written).
    pub fn from_stored(digits: String) -> Self {
        Self(digits)
    }
}

impl fmt::Display for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        if s.len() != 11 {
            return f.write_str(s);
        }
        write!(f, "{}.{}.{}-{}", &s[0..3], &s[3..6], &s[6..9], &s[9..11])
    }
}

impl Serialize for Cpf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A valid CNPJ: 12 characters (digits, or since July 2026 also letters A–Z) and two
/// numeric check digits, stored without punctuation in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cnpj(String);

impl Cnpj {
    /// Accepts `11222333000181`, `11.222.333/0001-81` or the alphanumeric form
    /// `12.ABC.345/01DE-35` (Receita Federal's rule: each character counts as its ASCII
    /// code minus 48, weights 2..9 from the right, modulo 11).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::new("invalid_cnpj", "CNPJ inválido");
        let cleaned: String = input
            .chars()
            .filter(|c| !matches!(c, '.' | '-' | '/' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = cleaned.as_bytes();
        if bytes.len() != 14
            || !bytes[..12]
                .iter()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            || !bytes[12..].iter().all(u8::is_ascii_digit)
        {
            return Err(invalid());
        }
        if bytes.iter().all(|&b| b == bytes[0]) {
            return Err(invalid());
        }
        let values: Vec<u32> = bytes.iter().map(|&b| u32::from(b) - 48).collect();
        let check = |len: usize| {
            let sum: u32 = (0..len)
                .map(|i| {
                    let weight = ((len - 1 - i) % 8) as u32 + 2;
                    values[i] * weight
                })
                .sum();
            let r = sum % 11;
            if r < 2 { 0 } else { 11 - r }
        };
        if check(12) != values[12] || check(13) != values[13] {
            return Err(invalid());
        }
        Ok(Self(cleaned))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }
}

impl fmt::Display for Cnpj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        if s.len() != 14 {
            return f.write_str(s);
        }
        write!(
            f,
            "{}.{}.{}/{}-{}",
            &s[0..2],
            &s[2..5],
            &s[5..8],
            &s[8..12],
            &s[12..14]
        )
    }
}

impl Serialize for Cnpj {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_cpfs_parse_in_any_punctuation() {
        for ok in ["529.982.247-25", "52998224725", "111.444.777-35"] {
            assert!(Cpf::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Cpf::parse("52998224725").expect("valid").to_string(),
            "529.982.247-25"
        );
    }

    #[test]
    fn cpfs_with_wrong_check_digits_or_shape_are_rejected() {
        for bad in [
            "529.982.247-24",
            "111.111.111-11",
            "1234567890",
            "abc.def.ghi-jk",
            "",
            "529982247255",
        ] {
            let err = Cpf::parse(bad).expect_err(bad);
            assert_eq!(err.code, "invalid_cpf");
        }
    }

    #[test]
    fn numeric_and_alphanumeric_cnpjs_parse() {
        assert_eq!(
            Cnpj::parse("11222333000181").expect("valid").to_string(),
            "11.222.333/0001-81"
        );
        assert!(Cnpj::parse("11.444.777/0001-61").is_ok());
        // The Receita Federal's published example of the alphanumeric CNPJ.
        assert!(Cnpj::parse("12.ABC.345/01DE-35").is_ok());
        assert!(Cnpj::parse("12.abc.345/01de-35").is_ok());
    }

    #[test]
    fn cnpjs_with_wrong_check_digits_or_shape_are_rejected() {
        for bad in [
            "11.222.333/0001-82",
            "00.000.000/0000-00",
            "12.ABC.345/01DE-36",
            "12.ABC.345/01DE-3A",
            "1122233300018",
        ] {
            assert_eq!(Cnpj::parse(bad).expect_err(bad).code, "invalid_cnpj");
        }
    }
}
