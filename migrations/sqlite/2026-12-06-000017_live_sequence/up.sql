-- The live feed follows live_seq (see the PostgreSQL migration of the same name). SQLite
-- runs one write transaction at a time, so an event's id is already in commit order:
-- its number is its id, given as it is inserted.
ALTER TABLE audit_events ADD COLUMN live_seq BIGINT;
UPDATE audit_events SET live_seq = id
    WHERE action LIKE 'MEMBER\_%' ESCAPE '\' OR action LIKE 'INVITATION\_%' ESCAPE '\' OR action LIKE 'ROLE\_%' ESCAPE '\';
CREATE UNIQUE INDEX audit_events_live_seq ON audit_events (live_seq);
CREATE TRIGGER audit_events_live_sequence AFTER INSERT ON audit_events
    WHEN NEW.action LIKE 'MEMBER\_%' ESCAPE '\' OR NEW.action LIKE 'INVITATION\_%' ESCAPE '\' OR NEW.action LIKE 'ROLE\_%' ESCAPE '\'
BEGIN
    UPDATE audit_events SET live_seq = NEW.id WHERE id = NEW.id;
END;
