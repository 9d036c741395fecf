-- How many members hold each (status, role), kept exact by a trigger in the same
-- transaction as every change to members, so that a member list's totalCount is a
-- lookup instead of a scan of the whole table.
CREATE TABLE member_counts (
    status TEXT NOT NULL,
    role_id BIGINT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (status, role_id)
);
INSERT INTO member_counts (status, role_id, n)
    SELECT status, role_id, count(*) FROM members GROUP BY status, role_id;

CREATE FUNCTION member_counts_add(s TEXT, r BIGINT, d BIGINT) RETURNS void AS $$
    INSERT INTO member_counts (status, role_id, n) VALUES (s, r, d)
        ON CONFLICT (status, role_id) DO UPDATE SET n = member_counts.n + d;
$$ LANGUAGE sql;

-- A move touches two counter rows: always in key order, so that two transactions
-- moving members in opposite directions cannot deadlock on them.
CREATE FUNCTION member_counts_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM member_counts_add(NEW.status, NEW.role_id, 1);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM member_counts_add(OLD.status, OLD.role_id, -1);
    ELSIF (OLD.status, OLD.role_id) IS DISTINCT FROM (NEW.status, NEW.role_id) THEN
        IF (OLD.status, OLD.role_id) < (NEW.status, NEW.role_id) THEN
            PERFORM member_counts_add(OLD.status, OLD.role_id, -1);
            PERFORM member_counts_add(NEW.status, NEW.role_id, 1);
        ELSE
            PERFORM member_counts_add(NEW.status, NEW.role_id, 1);
            PERFORM member_counts_add(OLD.status, OLD.role_id, -1);
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER member_counts_track AFTER INSERT OR DELETE OR UPDATE OF status, role_id
    ON members FOR EACH ROW EXECUTE FUNCTION member_counts_track();
