DROP TRIGGER audit_events_live_notify ON audit_events;
DROP TRIGGER audit_events_live_order ON audit_events;
DROP FUNCTION roster_live_event_notify();
DROP FUNCTION roster_live_event_order();
