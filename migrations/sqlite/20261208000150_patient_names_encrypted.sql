-- #16 (Build 5): a patient's full and social names are encrypted at rest like the rest of
-- their identity. The store seals them with the field cipher (`v1:<key id>:…`) and opens
-- them on reading; rows written before this migration keep their plain names until the
-- start-up sweep (or `atende keys rotate`) seals them.
ALTER TABLE patients RENAME COLUMN full_name TO full_name_enc;
ALTER TABLE patients RENAME COLUMN social_name TO social_name_enc;
-- Whether the row's names are in the name index below (false: the start-up sweep seals
-- the names and indexes them).
ALTER TABLE patients ADD COLUMN names_indexed INTEGER NOT NULL DEFAULT 0;
-- A name is found through a blind index of the prefixes of its words (2 to 20 letters,
-- lower case, without accents): an HMAC of each under the key derived from
-- security.jwt_secret. A search's words must all be among a patient's tokens.
CREATE TABLE patient_name_tokens (
    token       TEXT NOT NULL,
    patient_id  BLOB NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    PRIMARY KEY (token, patient_id)
);
CREATE INDEX patient_name_tokens_by_patient ON patient_name_tokens (patient_id);
