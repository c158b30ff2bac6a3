-- LGPD data-subject requests (#23 item 7): when a clinic's patient record was anonymised
-- (art. 18 IV/VI). The row stays, because the clinical record (20 years) and the money
-- records (5 years) that point at it must be kept; its direct identifiers are gone. A
-- record anonymised once is never anonymised again (409 `already_anonymised`).
ALTER TABLE patients ADD COLUMN anonymised_at timestamptz;
