-- The live feed's order is now given after commit instead of before it. Migration
-- 000015 had each event about members, invitations and roles take its id under a lock
-- held until its transaction ended, and NOTIFY at commit (which PostgreSQL also
-- serialises until the commit is flushed): every act waited for every other act's
-- commit, whichever members they were about. Now an act takes no lock for the feed:
-- its event commits with live_seq NULL, and a sequencer (roster_live_sequence, run by
-- every instance after its own commits and once a second) numbers the committed events
-- in one transaction at a time, then wakes the feeds. Readers follow live_seq, which
-- only ever grows by whole committed batches: nothing is passed and read late.
ALTER TABLE audit_events ADD COLUMN live_seq BIGINT;
UPDATE audit_events SET live_seq = id
    WHERE action LIKE 'MEMBER\_%' OR action LIKE 'INVITATION\_%' OR action LIKE 'ROLE\_%';
CREATE UNIQUE INDEX audit_events_live_seq ON audit_events (live_seq);
CREATE INDEX audit_events_live_unsequenced ON audit_events (id)
    WHERE live_seq IS NULL AND (action LIKE 'MEMBER\_%' OR action LIKE 'INVITATION\_%' OR action LIKE 'ROLE\_%');

DROP TRIGGER audit_events_live_notify ON audit_events;
DROP TRIGGER audit_events_live_order ON audit_events;
DROP FUNCTION roster_live_event_notify();
DROP FUNCTION roster_live_event_order();

-- Numbers the committed, unnumbered events in id order after the highest number given,
-- each at least its id (so that without concurrent commits the number is the id);
-- returns how many. Sequencers run one at a time; acts never wait for them.
CREATE FUNCTION roster_live_sequence() RETURNS INTEGER LANGUAGE plpgsql AS $$
DECLARE
    last BIGINT;
    event RECORD;
    numbered INTEGER := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_events WHERE live_seq IS NULL
            AND (action LIKE 'MEMBER\_%' OR action LIKE 'INVITATION\_%' OR action LIKE 'ROLE\_%')) THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(5941874320123904);
    SELECT coalesce(max(live_seq), 0) INTO last FROM audit_events;
    FOR event IN SELECT id FROM audit_events WHERE live_seq IS NULL
            AND (action LIKE 'MEMBER\_%' OR action LIKE 'INVITATION\_%' OR action LIKE 'ROLE\_%')
            ORDER BY id LOOP
        last := greatest(last + 1, event.id);
        UPDATE audit_events SET live_seq = last WHERE id = event.id;
        numbered := numbered + 1;
    END LOOP;
    IF numbered > 0 THEN
        PERFORM pg_notify('roster_live', last::text);
    END IF;
    RETURN numbered;
END
$$;
