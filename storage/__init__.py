"""Storage: SQLAlchemy 2.0 models, sessions and migrations, usable without Flask."""
