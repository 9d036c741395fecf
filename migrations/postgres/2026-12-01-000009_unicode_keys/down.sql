ALTER TABLE settings DROP COLUMN keys_version;
