DROP TRIGGER member_counts_track ON members;
DROP TRIGGER member_counts_insert ON members;
DROP FUNCTION member_counts_insert();
CREATE TRIGGER member_counts_track AFTER INSERT OR DELETE OR UPDATE OF status, role_id
    ON members FOR EACH ROW EXECUTE FUNCTION member_counts_track();
