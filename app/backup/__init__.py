"""``popcase db backup`` and ``popcase db restore``: SQLite through its online backup API,
PostgreSQL through ``pg_dump``/``pg_restore``, each with a manifest of the row counts it
captured so that a restore can prove it brought every row back."""
