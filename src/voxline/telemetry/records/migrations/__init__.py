"""Alembic migrations of the call records (`alembic upgrade head`, run at start-up)."""
