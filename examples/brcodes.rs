//! Print Pix BR Codes written by atende's encoder, one JSON object a line with what each
//! must decode to, for an independent parser to check (`.ci/run` pipes this into
//! `tests/pix/decode.mjs`, which uses the published `pix-utils` package).

use atende::domain::billing::brcode::{Account, BrCode};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases = [
        BrCode {
            account: Account::Key("123e4567-e12b-12d1-a456-426655440000".into()),
            amount_cents: None,
            merchant_name: "Fulano de Tal".into(),
            merchant_city: "BRASILIA".into(),
            txid: None,
        },
        BrCode {
            account: Account::Key("+5511999990000".into()),
            amount_cents: Some(25_000),
            merchant_name: "Clínica Aurora".into(),
            merchant_city: "São Paulo".into(),
            txid: Some("0190f3a1b2c3d4e5f6a7b8c9d".into()),
        },
        BrCode {
            account: Account::Key("clinica@aurora.example".into()),
            amount_cents: Some(5),
            merchant_name: "Consultório Dra. Helena Duarte Ltda".into(),
            merchant_city: "Ribeirão Preto".into(),
            txid: Some("ATENDE1".into()),
        },
        BrCode {
            account: Account::Location(
                "pix.example.com/qr/v2/9d36b84fc70b478fb95c12729b90ca25".into(),
            ),
            amount_cents: None,
            merchant_name: "Clinica Aurora".into(),
            merchant_city: "Sao Paulo".into(),
            txid: None,
        },
    ];
    for c in cases {
        let code = c.encode()?;
        let (kind, key, url) = match &c.account {
            Account::Key(k) => ("STATIC", Some(k.clone()), None),
            Account::Location(l) => ("DYNAMIC", None, Some(l.clone())),
        };
        let line = serde_json::json!({
            "code": code,
            "type": kind,
            "pixKey": key,
            "url": url,
            "amount_cents": c.amount_cents.unwrap_or(0),
            "txid": c.txid.clone().unwrap_or_else(|| "***".into()),
        });
        println!("{line}");
    }
    Ok(())
}
