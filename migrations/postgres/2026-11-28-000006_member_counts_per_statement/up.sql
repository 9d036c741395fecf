-- Inserts count per statement: a row-level trigger wrote one new version of a counter
-- row per inserted member, so a bulk insert of 100k members left 100k dead versions
-- that every totalCount then scanned past (3x the cost of the count, until a
-- VACUUM FULL). A statement-level trigger adds each (status, role) group once, in
-- key order, so that concurrent inserts cannot deadlock on the counters.
-- Updates of status or role and deletes stay row-level: PostgreSQL has no column list
-- for triggers with transition tables, and sign-ins update members all the time.
DROP TRIGGER member_counts_track ON members;

CREATE FUNCTION member_counts_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO member_counts (status, role_id, n)
        SELECT status, role_id, count(*) FROM inserted
            GROUP BY status, role_id ORDER BY status, role_id
        ON CONFLICT (status, role_id) DO UPDATE SET n = member_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER member_counts_insert AFTER INSERT ON members
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION member_counts_insert();
CREATE TRIGGER member_counts_track AFTER DELETE OR UPDATE OF status, role_id
    ON members FOR EACH ROW EXECUTE FUNCTION member_counts_track();
