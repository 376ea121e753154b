"""Full-text search over cases: the document sources, the index kept in each flush, the query."""
