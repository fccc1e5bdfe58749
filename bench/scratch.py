"""A scratch place for an in-process benchmark: a temp folder, a Redis server in it, and
the environment the project reads (database, Redis, instance folder) pointing at them."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.services import redis_server


def scratch_environment(stack: ExitStack, prefix: str, database_url: str | None) -> str:
    """Set the environment up for this process until `stack` closes; return the database
    URL: `database_url` if given, else a SQLite file in the temp folder."""
    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
    url = database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.update(
        DATABASE_URL=url,
        REDIS_URL=stack.enter_context(redis_server(workdir / "redis")),
        IVR_INSTANCE_DIR=str(workdir / "instance"),
    )
    return url
