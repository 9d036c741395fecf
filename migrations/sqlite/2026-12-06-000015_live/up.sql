-- SQLite runs one write transaction at a time, so event ids are already given in
-- commit order; the feed is woken in process after each commit. Nothing to add.
SELECT 1;
