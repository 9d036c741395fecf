DROP INDEX members_frozen_until;
ALTER TABLE members DROP COLUMN frozen_until;
