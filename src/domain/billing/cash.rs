//! The front desk's cash register (caixa): a session a receptionist opens with the cash in
//! the drawer, the payments taken at the desk (cash, the card machine, a Pix to the clinic's
//! key), and the closing count. What a session should hold and what each movement posts to
//! the ledger are decided here.

use super::super::ValidationError;
use super::ledger::{Line, PIX_PSP, REVENUE, Transaction};

/// Cash in the reception's drawer (an asset).
pub const CASH_DRAWER: &str = "asset:cash_drawer";
/// Card-machine sales the acquirer has yet to pay out (an asset).
pub const CARD_RECEIVABLE: &str = "asset:card_receivable";
/// Cash missing at a closing count (an expense: debit increases it).
pub const CASH_SHORTAGE: &str = "expense:cash_shortage";
/// Cash found over the expected at a closing count (income: credit increases it).
pub const CASH_OVERAGE: &str = "income:cash_overage";

/// How the patient paid at the desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Cash,
    /// The card machine (its NSU recorded).
    Card,
    /// A Pix to the clinic's key, confirmed at the desk.
    Pix,
}

impl Method {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "cash" => Ok(Method::Cash),
            "card" => Ok(Method::Card),
            "pix" => Ok(Method::Pix),
            _ => Err(ValidationError::new(
                "invalid_method",
                "forma de pagamento: cash, card ou pix",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Cash => "cash",
            Method::Card => "card",
            Method::Pix => "pix",
        }
    }

    /// The asset account the money lands in.
    pub fn account(self) -> &'static str {
        match self {
            Method::Cash => CASH_DRAWER,
            Method::Card => CARD_RECEIVABLE,
            Method::Pix => PIX_PSP,
        }
    }

    pub const ALL: [Method; 3] = [Method::Cash, Method::Card, Method::Pix];
}

/// What a movement is: money in, money given back, or a correction after closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Payment,
    Refund,
}

impl Kind {
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "payment" => Ok(Kind::Payment),
            "refund" => Ok(Kind::Refund),
            _ => Err(ValidationError::new(
                "invalid_kind",
                "movimento: payment ou refund",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Payment => "payment",
            Kind::Refund => "refund",
        }
    }
}

/// A movement's effect on what the desk holds: + for a payment, − for a refund.
pub fn signed(kind: Kind, cents: i64) -> i64 {
    match kind {
        Kind::Payment => cents,
        Kind::Refund => -cents,
    }
}

/// The ledger lines of a desk movement: a payment debits the method's account and credits
/// revenue; a refund is its reverse.
pub fn movement(
    kind: Kind,
    method: Method,
    reference: &str,
    cents: i64,
) -> Result<Transaction, ValidationError> {
    let (asset, revenue) = match kind {
        Kind::Payment => (cents, -cents),
        Kind::Refund => (-cents, cents),
    };
    Transaction::new(
        match kind {
            Kind::Payment => "desk_payment",
            Kind::Refund => "desk_refund",
        },
        reference,
        vec![
            Line {
                account: method.account(),
                amount_cents: asset,
            },
            Line {
                account: REVENUE,
                amount_cents: revenue,
            },
        ],
    )
}

/// The lines of a closing count that differs from the expected cash (`difference` =
/// counted − expected); none when it matches.
pub fn difference(
    reference: &str,
    difference: i64,
) -> Option<Result<Transaction, ValidationError>> {
    if difference == 0 {
        return None;
    }
    let (other, kind) = if difference < 0 {
        (CASH_SHORTAGE, "cash_shortage")
    } else {
        (CASH_OVERAGE, "cash_overage")
    };
    Some(Transaction::new(
        kind,
        reference,
        vec![
            Line {
                account: CASH_DRAWER,
                amount_cents: difference,
            },
            Line {
                account: other,
                amount_cents: -difference,
            },
        ],
    ))
}

/// The lines of an audited adjustment after closing: `cents` > 0 adds to the method's
/// account (money found), < 0 takes from it (money missing), against the count's
/// difference accounts.
pub fn adjustment(
    method: Method,
    reference: &str,
    cents: i64,
) -> Result<Transaction, ValidationError> {
    let other = if cents < 0 {
        CASH_SHORTAGE
    } else {
        CASH_OVERAGE
    };
    Transaction::new(
        "cash_adjustment",
        reference,
        vec![
            Line {
                account: method.account(),
                amount_cents: cents,
            },
            Line {
                account: other,
                amount_cents: -cents,
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_and_its_refund_cancel_out_on_every_account() {
        for m in Method::ALL {
            let pay = movement(Kind::Payment, m, "p", 15_000).expect("balanced");
            let back = movement(Kind::Refund, m, "r", 15_000).expect("balanced");
            let mut sum = std::collections::BTreeMap::<&str, i64>::new();
            for l in pay.lines().iter().chain(back.lines()) {
                *sum.entry(l.account).or_default() += l.amount_cents;
            }
            assert!(sum.values().all(|v| *v == 0), "{m:?}: {sum:?}");
        }
    }

    #[test]
    fn a_short_count_moves_the_missing_cash_to_the_shortage_account() {
        let t = difference("s", -350).expect("differs").expect("balanced");
        assert!(
            t.lines()
                .iter()
                .any(|l| l.account == CASH_DRAWER && l.amount_cents == -350)
        );
        assert!(
            t.lines()
                .iter()
                .any(|l| l.account == CASH_SHORTAGE && l.amount_cents == 350)
        );
        assert!(difference("s", 0).is_none());
        let over = difference("o", 200).expect("differs").expect("balanced");
        assert!(
            over.lines()
                .iter()
                .any(|l| l.account == CASH_OVERAGE && l.amount_cents == -200)
        );
    }
}
