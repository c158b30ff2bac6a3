-- #20: a patient's postal address (Portaria SVS/MS 344/98 asks for it on a special-control
-- prescription), sealed with the field cipher like the rest of their identity: JSON of
-- street, number, complement, district, city, UF and CEP. NULL: not given.
ALTER TABLE patients ADD COLUMN address_enc TEXT;
