-- The revenue report reads each income line with the asset line of its transaction (how it
-- was paid): find a transaction's lines without scanning the ledger.
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);
