-- Links sent to the contact on file carry no selector: their secret is looked up by its
-- SHA-256 (#16, a one-time link to the e-mail the clinic's record holds).
CREATE INDEX patient_links_by_code_hash ON patient_links (code_hash) WHERE code_hash IS NOT NULL;
