DROP TRIGGER member_counts_track ON members;
DROP FUNCTION member_counts_track();
DROP FUNCTION member_counts_add(TEXT, BIGINT, BIGINT);
DROP TABLE member_counts;
