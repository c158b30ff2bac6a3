//! The Pix BR Code ("copia e cola"): the EMV QR Code Merchant-Presented Mode payload with the
//! Pix template, as the Central Bank's *Manual de Padrões para Iniciação do Pix* lays it out.
//!
//! A payload is a run of TLV fields: a two-digit id, a two-digit length, the value. The last
//! field is the CRC (`63`, length `04`): CRC16-CCITT-FALSE (polynomial 0x1021, initial value
//! 0xFFFF, no reflection, no final XOR) over every byte before it *including* `6304`,
//! written as four upper-case hex digits.

use super::super::ValidationError;

/// The Pix globally unique identifier inside field 26 (the manual's examples write it in
/// lower case; readers compare it case-insensitively).
pub const GUI: &str = "br.gov.bcb.pix";

/// What a BR Code asks the payer's bank app to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrCode {
    /// Static: the receiver's DICT key. Dynamic: the PSP's payload location (URL without
    /// `https://`), which the app fetches for the charge (amount, txid, expiry).
    pub account: Account,
    /// Centavos; `None` lets the payer type the amount (static codes only).
    pub amount_cents: Option<i64>,
    /// Up to 25 characters, shown as the receiver (ASCII, accents dropped).
    pub merchant_name: String,
    /// Up to 15 characters (ASCII, accents dropped).
    pub merchant_city: String,
    /// Static codes: the reconciliation id (up to 25 letters and digits); `None` writes
    /// `***` (dynamic codes always do: their txid lives at the location).
    pub txid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Key(String),
    Location(String),
}

impl BrCode {
    /// The payload, CRC included.
    pub fn encode(&self) -> Result<String, ValidationError> {
        let mut out = String::new();
        field(&mut out, "00", "01")?;
        let mut account = String::new();
        field(&mut account, "00", GUI)?;
        match &self.account {
            Account::Key(key) => {
                // Point of initiation: omitted for a reusable static code (as the manual's
                // example does).
                field(&mut account, "01", key)?;
            }
            Account::Location(url) => {
                // 12: the code is for one payment (a dynamic charge).
                field(&mut out, "01", "12")?;
                field(&mut account, "25", url)?;
            }
        }
        field(&mut out, "26", &account)?;
        field(&mut out, "52", "0000")?;
        field(&mut out, "53", "986")?;
        if let Some(c) = self.amount_cents {
            if !(1..=super::MAX_CENTS).contains(&c) {
                return Err(ValidationError::new("invalid_amount", "valor inválido"));
            }
            field(&mut out, "54", &super::decimal(c))?;
        }
        field(&mut out, "58", "BR")?;
        field(&mut out, "59", &ascii(&self.merchant_name, 25))?;
        field(&mut out, "60", &ascii(&self.merchant_city, 15))?;
        let txid = match (&self.account, &self.txid) {
            (Account::Key(_), Some(t)) => {
                if t.is_empty() || t.len() > 25 || !t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(ValidationError::new(
                        "invalid_txid",
                        "txid: até 25 letras e dígitos",
                    ));
                }
                t.as_str()
            }
            _ => "***",
        };
        let mut additional = String::new();
        field(&mut additional, "05", txid)?;
        field(&mut out, "62", &additional)?;
        out.push_str("6304");
        let crc = crc16_ccitt_false(out.as_bytes());
        out.push_str(&format!("{crc:04X}"));
        Ok(out)
    }
}

/// Append one TLV field; values are 1 to 99 characters.
fn field(out: &mut String, id: &str, value: &str) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len == 0 || len > 99 {
        return Err(ValidationError::new(
            "invalid_br_code_field",
            format!("campo {id} do BR Code com {len} caracteres (1 a 99)"),
        ));
    }
    out.push_str(id);
    out.push_str(&format!("{len:02}"));
    out.push_str(value);
    Ok(())
}

/// Printable ASCII, accents dropped (`São Paulo` → `Sao Paulo`), at most `max` characters.
fn ascii(s: &str, max: usize) -> String {
    s.chars()
        .map(|c| match crate::domain::text::unaccented(c) {
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => ' ',
        })
        .take(max)
        .collect::<String>()
        .trim()
        .to_string()
}

/// CRC16-CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, MSB first, no final XOR.
pub fn crc16_ccitt_false(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A payload read back: its top-level fields in order, after checking the structure and
/// the CRC. Used on codes a PSP returns before atende shows them to a patient.
pub fn decode(payload: &str) -> Result<Vec<(String, String)>, ValidationError> {
    let bad =
        |why: &str| ValidationError::new("invalid_br_code", format!("BR Code inválido: {why}"));
    if !payload.is_ascii() || payload.len() < 8 {
        return Err(bad("não é ASCII ou é curto demais"));
    }
    let (body, crc) = payload.split_at(payload.len() - 4);
    if !body.ends_with("6304") {
        return Err(bad("sem o campo 63 (CRC) no fim"));
    }
    let want = u16::from_str_radix(crc, 16).map_err(|_| bad("CRC não é hexadecimal"))?;
    if crc16_ccitt_false(body.as_bytes()) != want {
        return Err(bad("CRC não confere"));
    }
    let fields = tlv(payload).ok_or_else(|| bad("campos malformados"))?;
    if fields.first().map(|(id, v)| (id.as_str(), v.as_str())) != Some(("00", "01")) {
        return Err(bad("não começa pelo campo 00 = 01"));
    }
    let pix = fields
        .iter()
        .find(|(id, _)| id == "26")
        .and_then(|(_, v)| tlv(v));
    let gui_ok = pix.is_some_and(|f| {
        f.iter()
            .any(|(id, v)| id == "00" && v.eq_ignore_ascii_case(GUI))
    });
    if !gui_ok {
        return Err(bad("sem o arranjo br.gov.bcb.pix no campo 26"));
    }
    Ok(fields)
}

/// Split a run of TLV fields; `None` when a length runs past the end.
pub fn tlv(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let id = rest.get(0..2)?;
        let len: usize = rest.get(2..4)?.parse().ok()?;
        let value = rest.get(4..4 + len)?;
        out.push((id.to_string(), value.to_string()));
        rest = &rest[4 + len..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Central Bank's *Manual de Padrões para Iniciação do Pix*: a
    /// static code with a random key, no amount, no txid.
    const MANUAL_EXAMPLE: &str = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";

    /// Dynamic codes (`pixCopiaECola`) from the examples of the API Pix OpenAPI document
    /// (bacen/pix-api, v2.9.0: `recResponse6`, `recResponse7`); they carry a field 80
    /// (recurrence) atende does not write, so they check the CRC and the reading.
    const API_PIX_EXAMPLES: [&str; 2] = [
        "00020101021226760014br.gov.bcb.pix2554pix.example.com/qr/v2/8b3da2f39a4140d1a91abd93113bd4415204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***80800014br.gov.bcb.pix2558pix.example.com/qr/v2/rec/94ed2badcbc04c15b0bb7fa35319489063047741",
        "00020101021226810014br.gov.bcb.pix2559pix.example.com/qr/v2/cobv/1e6c54d3ec9449b7a7fc53b6b0f998e75204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***80800014br.gov.bcb.pix2558pix.example.com/qr/v2/rec/3ffa640fa4f14080adccb949fa2dc0d06304A441",
    ];

    #[test]
    fn the_crc_is_ccitt_false() {
        // The catalogue check value of CRC-16/CCITT-FALSE.
        assert_eq!(crc16_ccitt_false(b"123456789"), 0x29B1);
    }

    #[test]
    fn the_manual_example_is_reproduced_byte_for_byte() {
        let code = BrCode {
            account: Account::Key("123e4567-e12b-12d1-a456-426655440000".into()),
            amount_cents: None,
            merchant_name: "Fulano de Tal".into(),
            merchant_city: "BRASILIA".into(),
            txid: None,
        };
        assert_eq!(code.encode().expect("encodes"), MANUAL_EXAMPLE);
        assert!(decode(MANUAL_EXAMPLE).is_ok());
    }

    #[test]
    fn published_dynamic_codes_pass_the_crc_and_their_start_is_what_atende_writes() {
        for example in API_PIX_EXAMPLES {
            let fields = decode(example).expect("valid");
            let pix = tlv(&fields.iter().find(|(id, _)| id == "26").expect("26").1).expect("tlv");
            let location = pix.iter().find(|(id, _)| id == "25").expect("25").1.clone();
            let ours = BrCode {
                account: Account::Location(location),
                amount_cents: None,
                merchant_name: "Fulano de Tal".into(),
                merchant_city: "BRASILIA".into(),
                txid: None,
            }
            .encode()
            .expect("encodes");
            // Everything up to the additional data field (62) is the same; the example then
            // adds its recurrence field 80.
            let upto = example.find("62070503***").expect("62") + "62070503***".len();
            assert_eq!(&ours[..upto], &example[..upto]);
        }
    }

    #[test]
    fn an_amount_a_txid_and_accents_are_written_as_the_standard_asks() {
        let code = BrCode {
            account: Account::Key("+5511999990000".into()),
            amount_cents: Some(15_000),
            merchant_name: "Clínica Aurora São João da Boa Vista".into(),
            merchant_city: "São Paulo".into(),
            txid: Some("ATENDE0123456789ABCDEFGHI".into()),
        }
        .encode()
        .expect("encodes");
        let fields = decode(&code).expect("valid");
        let get = |id: &str| {
            fields
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("54"), Some("150.00"));
        assert_eq!(get("59"), Some("Clinica Aurora Sao Joao d"));
        assert_eq!(get("60"), Some("Sao Paulo"));
        assert_eq!(get("62"), Some("0525ATENDE0123456789ABCDEFGHI"));
    }

    #[test]
    fn a_changed_character_fails_the_crc() {
        let tampered = MANUAL_EXAMPLE.replace("Fulano", "Fulana");
        assert_eq!(
            decode(&tampered).map_err(|e| e.code),
            Err("invalid_br_code")
        );
    }

    #[test]
    fn bad_txids_and_overlong_fields_are_refused() {
        let mut code = BrCode {
            account: Account::Key("k".into()),
            amount_cents: None,
            merchant_name: "X".into(),
            merchant_city: "Y".into(),
            txid: Some("has-dash".into()),
        };
        assert!(code.encode().is_err());
        code.txid = None;
        code.account = Account::Key("k".repeat(90));
        assert!(code.encode().is_err());
    }
}
