"""Photos and documents kept on a case as evidence."""
