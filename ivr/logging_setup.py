"""One log format for every process (web, worker, cron, CLI)."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    """Log to stderr at `LOG_LEVEL` (default INFO), unless logging is already set up."""
    if logging.getLogger().handlers:
        return
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
