-- Email and role-name keys became NFC and case-folded (they were lower-cased): rows
-- made before are re-keyed once by the server at start (domain/keys.rs), which sets
-- this to 1. New settings rows need nothing.
ALTER TABLE settings ADD COLUMN keys_version INTEGER NOT NULL DEFAULT 1;
UPDATE settings SET keys_version = 0;
