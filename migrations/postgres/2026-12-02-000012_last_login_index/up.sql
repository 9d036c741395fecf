-- Inactive members (lastLoginBefore): signed in last before an instant, or never.
CREATE INDEX members_last_login_at ON members (last_login_at);
