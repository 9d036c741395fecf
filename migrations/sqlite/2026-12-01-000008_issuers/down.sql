ALTER TABLE invitations DROP COLUMN issued_by;
ALTER TABLE settings DROP COLUMN default_password_set_by;
