"""Alembic migrations of the server's database (applied by ``diagnose-server`` at start)."""
