-- Who set the default password: a reset to it is allowed only while that member
-- still holds every permission of the target's role.
ALTER TABLE settings ADD COLUMN default_password_set_by BIGINT;
-- Who issued an invitation's current link (its creator, or whoever reissued it):
-- the link works only while they may grant its role, and they are the invitee's inviter.
ALTER TABLE invitations ADD COLUMN issued_by BIGINT;
UPDATE invitations SET issued_by = created_by;
