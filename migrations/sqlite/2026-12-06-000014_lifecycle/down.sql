ALTER TABLE settings DROP COLUMN audit_retention_days;
ALTER TABLE audit_events DROP COLUMN reason;
ALTER TABLE audit_events DROP COLUMN changes;
UPDATE members SET status = 'FROZEN' WHERE status = 'REMOVED';
ALTER TABLE members DROP COLUMN removed_at;
