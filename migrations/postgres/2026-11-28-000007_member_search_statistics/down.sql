DROP STATISTICS IF EXISTS members_search_trigrams;
