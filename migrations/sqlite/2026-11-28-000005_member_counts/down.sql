DROP TRIGGER member_counts_update;
DROP TRIGGER member_counts_delete;
DROP TRIGGER member_counts_insert;
DROP TABLE member_counts;
