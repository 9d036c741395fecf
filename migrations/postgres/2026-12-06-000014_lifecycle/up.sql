-- Removal: a removed member stays (audit events point at them) with their personal
-- data erased.
ALTER TABLE members DROP CONSTRAINT members_status_check;
ALTER TABLE members ADD CONSTRAINT members_status_check
    CHECK (status IN ('ACTIVE', 'FROZEN', 'REMOVED'));
ALTER TABLE members ADD COLUMN removed_at TIMESTAMP;
-- Typed before/after of what an act changed (a JSON array), and its reason.
ALTER TABLE audit_events ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE audit_events ADD COLUMN reason TEXT;
-- Audit events older than this many days are deleted by a sweep; NULL keeps them.
ALTER TABLE settings ADD COLUMN audit_retention_days INTEGER;
