-- Removal: a removed member stays (audit events point at them) with their personal
-- data erased. SQLite cannot change a CHECK constraint in place: the table is rebuilt.
-- Dropping it deletes its rows as far as foreign keys go: the checks are deferred to
-- commit, by when the rows are back in the new table, and the sessions, which that
-- delete cascades to, are put back too.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE members_kept AS SELECT * FROM members;
CREATE TEMP TABLE sessions_kept AS SELECT * FROM sessions;
DROP TABLE members;
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    search_key TEXT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES roles (id),
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN', 'REMOVED')),
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    frozen_at TIMESTAMP,
    frozen_reason TEXT,
    invited_by BIGINT REFERENCES members (id),
    last_login_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    password_expires_at TIMESTAMP,
    reset_token_hash TEXT,
    reset_expires_at TIMESTAMP,
    frozen_until TIMESTAMP,
    removed_at TIMESTAMP
);
INSERT INTO members
    SELECT id, email, email_key, name, search_key, role_id, status, password_hash,
           must_change_password, frozen_at, frozen_reason, invited_by, last_login_at,
           created_at, updated_at, version, password_expires_at, reset_token_hash,
           reset_expires_at, frozen_until, NULL
    FROM members_kept;
INSERT INTO sessions SELECT * FROM sessions_kept;
DROP TABLE members_kept;
DROP TABLE sessions_kept;
CREATE INDEX members_status_id ON members (status, id);
CREATE INDEX members_role_id ON members (role_id, id);
CREATE INDEX members_invited_by ON members (invited_by);
CREATE UNIQUE INDEX members_reset_token_hash ON members (reset_token_hash);
CREATE INDEX members_frozen_until ON members (frozen_until) WHERE frozen_until IS NOT NULL;
CREATE INDEX members_last_login_at ON members (last_login_at);
CREATE TRIGGER members_search_insert AFTER INSERT ON members BEGIN
    INSERT INTO members_search (rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER members_search_delete AFTER DELETE ON members BEGIN
    INSERT INTO members_search (members_search, rowid, search_key)
        VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER members_search_update AFTER UPDATE OF search_key ON members BEGIN
    INSERT INTO members_search (members_search, rowid, search_key)
        VALUES ('delete', old.id, old.search_key);
    INSERT INTO members_search (rowid, search_key) VALUES (new.id, new.search_key);
END;
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
-- Typed before/after of what an act changed (a JSON array), and its reason.
ALTER TABLE audit_events ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE audit_events ADD COLUMN reason TEXT;
-- Audit events older than this many days are deleted by a sweep; NULL keeps them.
ALTER TABLE settings ADD COLUMN audit_retention_days INTEGER;
