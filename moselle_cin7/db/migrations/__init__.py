"""Alembic migrations of the planning database, generated from ``moselle_cin7.db.schema``.

Run them with ``moselle_cin7.db.migrate`` (``python -m moselle_cin7.db.migrate upgrade``), which
takes the migration lock; ``env.py`` is loaded by Alembic, never imported.
"""
