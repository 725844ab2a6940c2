"""SQLAlchemy 2 (Core) storage for SQLite and PostgreSQL.

`tables*.py` hold the schema, `repositories.py` (people) and `action_repositories.py`
(actions, reviews, grants, audit) map rows to domain records, `uow.py` is the transaction.
"""
