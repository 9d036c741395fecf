DROP FUNCTION member_counts_fold();
CREATE TEMPORARY TABLE member_counts_folded AS
    SELECT status, role_id, sum(n) AS n FROM member_counts GROUP BY status, role_id;
DELETE FROM member_counts;
ALTER TABLE member_counts DROP COLUMN id;
INSERT INTO member_counts (status, role_id, n) SELECT status, role_id, n FROM member_counts_folded;
ALTER TABLE member_counts ADD PRIMARY KEY (status, role_id);
DROP INDEX IF EXISTS member_counts_status_role;

CREATE OR REPLACE FUNCTION member_counts_add(s TEXT, r BIGINT, d BIGINT) RETURNS void AS $$
    INSERT INTO member_counts (status, role_id, n) VALUES (s, r, d)
        ON CONFLICT (status, role_id) DO UPDATE SET n = member_counts.n + d;
$$ LANGUAGE sql;

CREATE OR REPLACE FUNCTION member_counts_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO member_counts (status, role_id, n)
        SELECT status, role_id, count(*) FROM inserted
            GROUP BY status, role_id ORDER BY status, role_id
        ON CONFLICT (status, role_id) DO UPDATE SET n = member_counts.n + EXCLUDED.n;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
