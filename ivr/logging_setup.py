"""One log format for every process (web, worker, cron, CLI)."""

from __future__ import annotations

import logging

from storage.settings import settings


def configure_logging() -> None:
    """Log to stderr at `LOG_LEVEL` (default INFO), unless logging is already set up."""
    if logging.getLogger().handlers:
        return
    logging.basicConfig(
        level=settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
