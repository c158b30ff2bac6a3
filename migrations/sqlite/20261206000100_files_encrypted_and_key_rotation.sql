-- Encryption at rest reaches files: a chat attachment's name and bytes and a signed
-- document's PDF are stored encrypted (AES-256-GCM under the field-encryption keys; bytes as
-- "v1:<key id>:" ‖ nonce ‖ ciphertext ‖ tag). Rows written before this stay readable as they
-- are until `atende keys rotate` encrypts them.
ALTER TABLE chat_attachments RENAME COLUMN filename TO filename_enc;

-- `atende keys rotate` re-encrypts every value under the active key, locked clinical entries
-- included. A locked encounter or an addendum still never changes: the only update allowed
-- sets nothing but the encrypted column, to a value in the encrypted form under another key.
DROP TRIGGER encounter_addenda_never_changed;
DROP TRIGGER encounters_locked_never_change;

CREATE TRIGGER encounter_addenda_never_changed
BEFORE UPDATE OF id, encounter_id, clinic_id, patient_id, author_user_id, council,
                 council_number, council_uf, created_at ON encounter_addenda
BEGIN SELECT RAISE(ABORT, 'addenda never change'); END;

CREATE TRIGGER encounter_addenda_text_only_rekeyed
BEFORE UPDATE OF text_enc ON encounter_addenda
WHEN NOT (NEW.text_enc LIKE 'v1:_%:_%'
          AND substr(NEW.text_enc, 1, instr(substr(NEW.text_enc, 4), ':') + 3)
           <> substr(OLD.text_enc, 1, instr(substr(OLD.text_enc, 4), ':') + 3))
BEGIN SELECT RAISE(ABORT, 'addenda never change'); END;

CREATE TRIGGER encounters_locked_never_change
BEFORE UPDATE OF id, clinic_id, patient_id, professional_id, author_user_id, appointment_id,
                 psychology, council, council_number, council_uf, version, status, lock_kind,
                 locked_at, locked_by, created_at, updated_at ON encounters
WHEN OLD.status = 'locked'
BEGIN SELECT RAISE(ABORT, 'a locked encounter never changes'); END;

CREATE TRIGGER encounters_locked_content_only_rekeyed
BEFORE UPDATE OF content_enc ON encounters
WHEN OLD.status = 'locked'
 AND NOT (NEW.content_enc LIKE 'v1:_%:_%'
          AND substr(NEW.content_enc, 1, instr(substr(NEW.content_enc, 4), ':') + 3)
           <> substr(OLD.content_enc, 1, instr(substr(OLD.content_enc, 4), ':') + 3))
BEGIN SELECT RAISE(ABORT, 'a locked encounter never changes'); END;
