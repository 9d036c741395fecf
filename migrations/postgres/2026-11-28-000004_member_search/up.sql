-- Member search by substring through a trigram index (pg_trgm answers LIKE '%...%').
-- Where the extension cannot be installed (a managed server that does not offer it),
-- search still works, by scanning; the migration does not fail.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm is not available (%): member search will scan', SQLERRM;
END
$$;

DO $$
DECLARE
    ops_schema TEXT;
BEGIN
    SELECT extnamespace::regnamespace::text INTO ops_schema
        FROM pg_extension WHERE extname = 'pg_trgm';
    IF ops_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX members_search_key_trgm ON members USING gin (search_key %I.gin_trgm_ops)',
            ops_schema
        );
    END IF;
END
$$;
