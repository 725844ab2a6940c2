"""Adapters: the technology behind the service ports (database, signing, notifications)."""
