"""The SARA domain: stages, gates and vocabularies, as plain Python (no HTTP, no SQL)."""
