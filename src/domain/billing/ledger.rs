//! The double-entry ledger's rules: a transaction is a set of lines whose amounts sum to
//! zero (debit positive, credit negative), each on a named account. What a Pix payment and
//! its refund post is decided here, once, so every path posts the same lines.

use super::super::ValidationError;

/// Money held at the PSP for the clinic (an asset: debit increases it).
pub const PIX_PSP: &str = "asset:pix_psp";
/// What the clinic earned from appointments (income: credit increases it).
pub const REVENUE: &str = "income:appointments";

/// One line of a ledger transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub account: &'static str,
    /// Centavos; debit > 0, credit < 0; never zero.
    pub amount_cents: i64,
}

/// A balanced set of lines: it can only be built balanced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// What happened, e.g. `pix_payment`, `pix_refund`.
    pub kind: &'static str,
    /// The outside reference that makes it unique (endToEndId, refund id).
    pub reference: String,
    lines: Vec<Line>,
}

impl Transaction {
    /// Refuse unless there are two or more non-zero lines that sum to zero.
    pub fn new(
        kind: &'static str,
        reference: impl Into<String>,
        lines: Vec<Line>,
    ) -> Result<Self, ValidationError> {
        let sum = lines
            .iter()
            .try_fold(0i64, |acc, l| acc.checked_add(l.amount_cents));
        if lines.len() < 2 || lines.iter().any(|l| l.amount_cents == 0) || sum != Some(0) {
            return Err(ValidationError::new(
                "unbalanced_ledger_transaction",
                "lançamento contábil desbalanceado",
            ));
        }
        Ok(Self {
            kind,
            reference: reference.into(),
            lines,
        })
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// A Pix received: the PSP holds `cents` more, earned from the appointment.
    pub fn pix_payment(end_to_end_id: &str, cents: i64) -> Result<Self, ValidationError> {
        Self::new(
            "pix_payment",
            end_to_end_id,
            vec![
                Line {
                    account: PIX_PSP,
                    amount_cents: cents,
                },
                Line {
                    account: REVENUE,
                    amount_cents: -cents,
                },
            ],
        )
    }

    /// A Pix refund settled: the exact reverse of (part of) a payment.
    pub fn pix_refund(refund_id: &str, cents: i64) -> Result<Self, ValidationError> {
        Self::new(
            "pix_refund",
            refund_id,
            vec![
                Line {
                    account: REVENUE,
                    amount_cents: cents,
                },
                Line {
                    account: PIX_PSP,
                    amount_cents: -cents,
                },
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payment_and_its_refund_each_balance_and_together_cancel_out() {
        let pay = Transaction::pix_payment("E1", 15_000).expect("balanced");
        let refund = Transaction::pix_refund("R1", 15_000).expect("balanced");
        let mut by_account = std::collections::BTreeMap::<&str, i64>::new();
        for l in pay.lines().iter().chain(refund.lines()) {
            *by_account.entry(l.account).or_default() += l.amount_cents;
        }
        assert!(by_account.values().all(|v| *v == 0), "{by_account:?}");
    }

    #[test]
    fn unbalanced_or_empty_transactions_cannot_be_built() {
        let line = |a, c| Line {
            account: a,
            amount_cents: c,
        };
        assert!(Transaction::new("x", "r", vec![line(PIX_PSP, 10), line(REVENUE, -9)]).is_err());
        assert!(Transaction::new("x", "r", vec![line(PIX_PSP, 0), line(REVENUE, 0)]).is_err());
        assert!(Transaction::new("x", "r", vec![]).is_err());
        assert!(Transaction::pix_payment("E", 0).is_err());
    }
}
