"""Jobs for tests of worker pools: importable by name in a spawned worker process."""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ("mark_then_sleep",)


def mark_then_sleep(marker: str, seconds: float) -> None:
    """Create `marker` (the job has started in a worker), then keep the worker busy for `seconds`."""
    Path(marker).touch()
    time.sleep(seconds)
