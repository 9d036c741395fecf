-- Statistics of the trigrams of the search keys (PostgreSQL 14 or later): ANALYZE
-- records the trigrams most members share and how many do. A search asks the trigram
-- index only for the parts of its term whose trigrams are not among them (see
-- src/domain/member_search.rs); the statistics decide how a search runs, never what it
-- finds. Without pg_trgm or on an older server, searches ask for the whole term.
DO $$
DECLARE
    ops_schema TEXT;
BEGIN
    SELECT extnamespace::regnamespace::text INTO ops_schema
        FROM pg_extension WHERE extname = 'pg_trgm';
    IF ops_schema IS NULL OR current_setting('server_version_num')::int < 140000 THEN
        RAISE NOTICE 'no trigram statistics: searches ask the index for the whole term';
        RETURN;
    END IF;
    EXECUTE format(
        'CREATE STATISTICS members_search_trigrams ON (%I.show_trgm(search_key)) FROM members',
        ops_schema
    );
    ANALYZE members;
END
$$;
