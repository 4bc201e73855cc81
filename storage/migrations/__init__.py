"""Alembic migrations of the newswatch schema: run them with storage.migrate (or `newswatch db upgrade`)."""
