-- Member search by substring through a trigram index (FTS5), kept in step with
-- members.search_key by triggers. Queries use GLOB: FTS5 answers LIKE with an
-- ESCAPE clause by scanning, GLOB through the index.
CREATE VIRTUAL TABLE members_search USING fts5(
    search_key,
    content = 'members',
    content_rowid = 'id',
    tokenize = 'trigram'
);
INSERT INTO members_search (rowid, search_key) SELECT id, search_key FROM members;

CREATE TRIGGER members_search_insert AFTER INSERT ON members BEGIN
    INSERT INTO members_search (rowid, search_key) VALUES (new.id, new.search_key);
END;
CREATE TRIGGER members_search_delete AFTER DELETE ON members BEGIN
    INSERT INTO members_search (members_search, rowid, search_key)
        VALUES ('delete', old.id, old.search_key);
END;
CREATE TRIGGER members_search_update AFTER UPDATE OF search_key ON members BEGIN
    INSERT INTO members_search (members_search, rowid, search_key)
        VALUES ('delete', old.id, old.search_key);
    INSERT INTO members_search (rowid, search_key) VALUES (new.id, new.search_key);
END;
