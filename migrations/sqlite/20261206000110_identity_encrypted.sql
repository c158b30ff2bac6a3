-- #16 finding 5: the front desk's text and a patient's identity are encrypted at rest.
-- The store seals these columns with the field cipher (`v1:<key id>:…`) and opens them on
-- reading; rows written before this migration keep their plain text until the start-up
-- sweep (patients) or `atende keys rotate` (every column) seals them. A CPF is found
-- through `cpf_index`, an HMAC of its digits (a blind index), never by its text; a phone
-- through `phone_index`.
ALTER TABLE appointments RENAME COLUMN notes TO notes_enc;
ALTER TABLE appointments RENAME COLUMN cancel_reason TO cancel_reason_enc;
ALTER TABLE queue_entries RENAME COLUMN full_name TO full_name_enc;
ALTER TABLE patients RENAME COLUMN cpf TO cpf_enc;
ALTER TABLE patients RENAME COLUMN birth_date TO birth_date_enc;
ALTER TABLE patients RENAME COLUMN phone TO phone_enc;
ALTER TABLE patients RENAME COLUMN email TO email_enc;
ALTER TABLE patients ADD COLUMN cpf_index TEXT;
DROP INDEX patients_by_cpf;
CREATE INDEX patients_by_cpf_index ON patients (cpf_index);
-- Replies by WhatsApp or SMS name a phone: it is found the same way, by its blind index.
ALTER TABLE patients ADD COLUMN phone_index TEXT;
CREATE INDEX patients_by_phone_index ON patients (phone_index);
