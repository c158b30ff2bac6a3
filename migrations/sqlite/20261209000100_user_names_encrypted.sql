-- #16: an account's name (the one a patient typed at sign-up, a staff member's) is
-- encrypted at rest like a patient record's names. The store seals it with the field
-- cipher (`v1:<key id>:…`) and opens it on reading; lists are ordered in Rust. Rows
-- written before this migration keep their plain names until the start-up sweep (or
-- `atende keys rotate`) seals them.
ALTER TABLE users RENAME COLUMN full_name TO full_name_enc;
