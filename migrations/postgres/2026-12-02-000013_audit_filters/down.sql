DROP INDEX audit_events_target_role_id;
DROP INDEX audit_events_created_at;
