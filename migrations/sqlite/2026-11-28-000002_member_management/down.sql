DROP TABLE audit_events;
DROP TABLE invitations;
ALTER TABLE settings DROP COLUMN reset_password_valid_hours;
DROP INDEX members_reset_token_hash;
ALTER TABLE members DROP COLUMN reset_expires_at;
ALTER TABLE members DROP COLUMN reset_token_hash;
ALTER TABLE members DROP COLUMN password_expires_at;
