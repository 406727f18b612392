"""Keep share-link tokens out of logs: uvicorn's access log (and our own) print request paths, `/s/<token>`."""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ("LinkTokenFilter", "install_link_token_filter", "redact")

_LINK_PATH = re.compile(r"/s/[^\s?#\"'/]+")
_REDACTED = "/s/[redacted]"
# Loggers that print request paths (logger filters see only records logged there, so name each one), plus the
# root logger, whose handlers also see what propagates from elsewhere.
LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "litestar", "vault", "vault.http.problems", "")


def redact(text: str) -> str:
    """`text` with every `/s/<token>` replaced by `/s/[redacted]`."""
    return _LINK_PATH.sub(_REDACTED, text)


def _redacted_arg(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class LinkTokenFilter(logging.Filter):
    """Rewrites log records in place so no share-link token reaches a handler; never drops a record.

    Arguments are redacted one by one (uvicorn's access formatter unpacks `record.args` as a tuple).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted_arg(value) for key, value in record.args.items()}
        return True


def install_link_token_filter() -> LinkTokenFilter:
    """Attach one filter to the loggers that print request paths and to their handlers (idempotent).

    Logger filters catch records logged there; handler filters catch records propagated from children.
    """
    loggers = [logging.getLogger(name) for name in LOGGERS]
    existing = next((f for logger in loggers for f in logger.filters if isinstance(f, LinkTokenFilter)), None)
    token_filter = existing or LinkTokenFilter()
    for logger in loggers:
        targets: list[logging.Filterer] = [logger, *logger.handlers]
        for target in targets:
            if token_filter not in target.filters:
                target.addFilter(token_filter)
    return token_filter
