-- The live feed (Subscription.memberChanged) delivers the events about members,
-- invitations and roles in id order, and a client resumes after the id of the last one
-- it saw. Sequence values are taken before commit, so concurrent writers would commit
-- those ids out of order and a reader could pass an id whose predecessor commits later.
-- Each such event therefore takes its id under a transaction-level lock, held until its
-- transaction ends: their ids are given in commit order. Only the act's last step (its
-- event and its commit) waits; sign-ins and other events take no lock.
CREATE FUNCTION roster_live_event_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(5941874320123904);
    NEW.id := nextval(pg_get_serial_sequence('audit_events', 'id'));
    RETURN NEW;
END
$$;

-- Wakes every instance's feed at commit; the payload is only the event's id.
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
