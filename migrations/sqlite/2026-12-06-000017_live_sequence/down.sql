DROP TRIGGER audit_events_live_sequence;
DROP INDEX audit_events_live_seq;
ALTER TABLE audit_events DROP COLUMN live_seq;
