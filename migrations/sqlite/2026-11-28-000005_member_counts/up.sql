-- How many members hold each (status, role), kept exact by triggers in the same
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

CREATE TRIGGER member_counts_insert AFTER INSERT ON members BEGIN
    INSERT INTO member_counts (status, role_id, n) VALUES (new.status, new.role_id, 1)
        ON CONFLICT (status, role_id) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER member_counts_delete AFTER DELETE ON members BEGIN
    UPDATE member_counts SET n = n - 1 WHERE status = old.status AND role_id = old.role_id;
END;
CREATE TRIGGER member_counts_update AFTER UPDATE OF status, role_id ON members
WHEN old.status IS NOT new.status OR old.role_id IS NOT new.role_id BEGIN
    UPDATE member_counts SET n = n - 1 WHERE status = old.status AND role_id = old.role_id;
    INSERT INTO member_counts (status, role_id, n) VALUES (new.status, new.role_id, 1)
        ON CONFLICT (status, role_id) DO UPDATE SET n = n + 1;
END;
