"""Persistence for cibot: SQLModel tables, sessions and Alembic migrations."""
