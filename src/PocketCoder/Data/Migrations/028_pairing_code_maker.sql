-- Which device made a pairing code. Revoking a device voids the codes it made and that are still unused: a stolen phone
-- must not pair itself again, as the same person, with a code it minted before the owner revoked it.
-- Codes from before this column have no maker on record; they expire within ten minutes of being made anyway.
ALTER TABLE pairing_codes ADD COLUMN created_by_device TEXT;
