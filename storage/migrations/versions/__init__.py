"""The revisions, oldest first: NNNN_<what>.py, one per schema change; the revision id is the file name.

Draft a new one against a database at head with
    alembic.command.revision(storage.migrate.alembic_config(conn), "what", autogenerate=True, rev_id="0004_what")
then check it by hand (see script.py.mako); tests/storage/test_migrations.py fails while models and migrations differ.
"""
