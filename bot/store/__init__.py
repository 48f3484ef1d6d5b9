"""Persistence: SQLAlchemy async Core tables, repositories and the unit of work."""
