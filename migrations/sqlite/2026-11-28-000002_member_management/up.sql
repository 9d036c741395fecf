ALTER TABLE members ADD COLUMN password_expires_at TIMESTAMP;
ALTER TABLE members ADD COLUMN reset_token_hash TEXT;
ALTER TABLE members ADD COLUMN reset_expires_at TIMESTAMP;
CREATE UNIQUE INDEX members_reset_token_hash ON members (reset_token_hash);

ALTER TABLE settings ADD COLUMN reset_password_valid_hours INTEGER NOT NULL DEFAULT 72;

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role_id BIGINT NOT NULL REFERENCES roles (id),
    email TEXT,
    email_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'ACCEPTED', 'REVOKED')),
    validity_days INTEGER NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_by BIGINT NOT NULL REFERENCES members (id),
    created_at TIMESTAMP NOT NULL,
    accepted_by BIGINT REFERENCES members (id),
    accepted_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX invitations_status_id ON invitations (status, id);
CREATE INDEX invitations_role_id ON invitations (role_id);
CREATE INDEX invitations_created_by ON invitations (created_by, status);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    action TEXT NOT NULL,
    actor_id BIGINT,
    target_member_id BIGINT,
    target_role_id BIGINT,
    details TEXT NOT NULL,
    ip TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_action_id ON audit_events (action, id);
CREATE INDEX audit_events_actor_id ON audit_events (actor_id, id);
CREATE INDEX audit_events_target_member_id ON audit_events (target_member_id, id);
