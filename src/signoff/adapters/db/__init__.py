"""SQLAlchemy 2 (Core) storage for SQLite and PostgreSQL."""
