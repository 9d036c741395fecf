DROP INDEX members_last_login_at;
