-- Acts on two members of one role updated the same counter row, and its row lock,
-- held until commit, made the second act wait for the first. Each change now adds
-- rows of its own (inserts never wait for one another), every reader sums them, and
-- a sweep folds each (status, role)'s rows back into one (member_counts_fold).
ALTER TABLE member_counts DROP CONSTRAINT member_counts_pkey;
ALTER TABLE member_counts ADD COLUMN id BIGSERIAL PRIMARY KEY;
CREATE INDEX member_counts_status_role ON member_counts (status, role_id);

CREATE OR REPLACE FUNCTION member_counts_add(s TEXT, r BIGINT, d BIGINT) RETURNS void AS $$
    INSERT INTO member_counts (status, role_id, n) VALUES (s, r, d);
$$ LANGUAGE sql;

CREATE OR REPLACE FUNCTION member_counts_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO member_counts (status, role_id, n)
        SELECT status, role_id, count(*) FROM inserted GROUP BY status, role_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

-- Folds the rows of each (status, role) that has several into one, skipping rows a
-- concurrent fold holds: it waits for nobody, and readers see the rows before or after.
CREATE FUNCTION member_counts_fold() RETURNS BIGINT AS $$
    WITH gone AS (
        DELETE FROM member_counts WHERE id IN (
            SELECT id FROM member_counts
                WHERE (status, role_id) IN (SELECT status, role_id FROM member_counts GROUP BY 1, 2 HAVING count(*) > 1)
                FOR UPDATE SKIP LOCKED)
        RETURNING status, role_id, n
    ), kept AS (
        INSERT INTO member_counts (status, role_id, n)
            SELECT status, role_id, sum(n) FROM gone GROUP BY status, role_id HAVING sum(n) <> 0
    )
    SELECT count(*) FROM gone;
$$ LANGUAGE sql;
