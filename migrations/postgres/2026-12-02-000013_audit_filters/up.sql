-- The audit log filtered by date range and by the role acted on.
CREATE INDEX audit_events_created_at ON audit_events (created_at);
CREATE INDEX audit_events_target_role_id ON audit_events (target_role_id, id);
