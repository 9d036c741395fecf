DROP FUNCTION roster_live_sequence();
DROP INDEX audit_events_live_unsequenced;
DROP INDEX audit_events_live_seq;
ALTER TABLE audit_events DROP COLUMN live_seq;

CREATE FUNCTION roster_live_event_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5941874320123904);
    NEW.id := nextval(pg_get_serial_sequence('audit_events', 'id'));
    RETURN NEW;
END
$$;

CREATE FUNCTION roster_live_event_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('roster_live', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_events_live_order BEFORE INSERT ON audit_events FOR EACH ROW
    WHEN (NEW.action LIKE 'MEMBER\_%' OR NEW.action LIKE 'INVITATION\_%' OR NEW.action LIKE 'ROLE\_%')
    EXECUTE FUNCTION roster_live_event_order();
CREATE TRIGGER audit_events_live_notify AFTER INSERT ON audit_events FOR EACH ROW
    WHEN (NEW.action LIKE 'MEMBER\_%' OR NEW.action LIKE 'INVITATION\_%' OR NEW.action LIKE 'ROLE\_%')
    EXECUTE FUNCTION roster_live_event_notify();
