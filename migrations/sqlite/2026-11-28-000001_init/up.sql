-- SQLite ids must be exactly INTEGER PRIMARY KEY to auto-assign (rowid alias).
CREATE TABLE roles (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL,
    built_in BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_one_built_in ON roles (built_in) WHERE built_in;

CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    search_key TEXT NOT NULL,
    role_id BIGINT NOT NULL REFERENCES roles (id),
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'FROZEN')),
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    frozen_at TIMESTAMP,
    frozen_reason TEXT,
    invited_by BIGINT REFERENCES members (id),
    last_login_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX members_status_id ON members (status, id);
CREATE INDEX members_role_id ON members (role_id, id);
CREATE INDEX members_invited_by ON members (invited_by);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    member_id BIGINT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_member_id ON sessions (member_id);

CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    default_password_hash TEXT,
    password_min_length INTEGER NOT NULL,
    session_ttl_minutes INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
