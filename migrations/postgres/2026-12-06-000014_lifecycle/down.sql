ALTER TABLE settings DROP COLUMN audit_retention_days;
ALTER TABLE audit_events DROP COLUMN reason;
ALTER TABLE audit_events DROP COLUMN changes;
ALTER TABLE members DROP COLUMN removed_at;
UPDATE members SET status = 'FROZEN' WHERE status = 'REMOVED';
ALTER TABLE members DROP CONSTRAINT members_status_check;
ALTER TABLE members ADD CONSTRAINT members_status_check CHECK (status IN ('ACTIVE', 'FROZEN'));
