//! Money: amounts in integer centavos, the Pix BR Code, and the rules of the ledger.
//! No floats anywhere: an amount is an `i64` of centavos from the edge to the database.

pub mod brcode;
pub mod cash;
pub mod ledger;
pub mod report;

use super::ValidationError;

/// The largest amount atende takes for one price or charge: R$ 1.000.000,00.
pub const MAX_CENTS: i64 = 100_000_000;

/// An amount as the API Pix writes it: `"37.00"` for 3700 centavos (`\d{1,10}\.\d{2}`).
pub fn decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

/// Read an API Pix amount (`"37.00"`, exactly two decimals, positive) as centavos.
pub fn parse_decimal(s: &str) -> Result<i64, ValidationError> {
    let bad = || ValidationError::new("invalid_amount", format!("valor inválido: {s:?}"));
    let (units, cents) = s.split_once('.').ok_or_else(bad)?;
    if units.is_empty()
        || units.len() > 10
        || cents.len() != 2
        || !units.bytes().all(|b| b.is_ascii_digit())
        || !cents.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let cents: i64 = cents.parse().map_err(|_| bad())?;
    units
        .checked_mul(100)
        .and_then(|u| u.checked_add(cents))
        .ok_or_else(bad)
}

/// A price or charge amount as input: 0 to [`MAX_CENTS`].
pub fn price(cents: i64) -> Result<i64, ValidationError> {
    if (0..=MAX_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(ValidationError::new(
            "invalid_price",
            "preço em centavos, de 0 a 100000000",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip_through_the_api_pix_decimal_form() {
        for (cents, text) in [
            (3700, "37.00"),
            (5, "0.05"),
            (123_456, "1234.56"),
            (0, "0.00"),
        ] {
            assert_eq!(decimal(cents), text);
            assert_eq!(parse_decimal(text), Ok(cents));
        }
    }

    #[test]
    fn malformed_decimals_are_refused() {
        for s in [
            "37",
            "37.0",
            "37.000",
            "-1.00",
            "1,00",
            ".50",
            "1.5a",
            "12345678901.00",
        ] {
            assert!(parse_decimal(s).is_err(), "{s}");
        }
    }
}
