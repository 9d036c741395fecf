-- A time-bound freeze ends by itself at frozen_until; the sweep finds the due ones
-- through this index.
ALTER TABLE members ADD COLUMN frozen_until TIMESTAMP;
CREATE INDEX members_frozen_until ON members (frozen_until) WHERE frozen_until IS NOT NULL;
