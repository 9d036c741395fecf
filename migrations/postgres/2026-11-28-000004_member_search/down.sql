DROP INDEX IF EXISTS members_search_key_trgm;
