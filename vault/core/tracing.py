"""Child spans of the request being traced, at no cost (and no OpenTelemetry import) when tracing is off.

The tracing middleware (`vault.http.tracing`, imported only when `VAULT_OTEL_ENDPOINT` is set) puts a span
opener in a context variable for the duration of each request; `child_span` opens a span under the request's
span when there is one, and is a `nullcontext` otherwise (background jobs, tracing off).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable

__all__ = ("SpanOpener", "child_span", "span_opener")

SpanOpener = Callable[[str], contextlib.AbstractContextManager[object]]
span_opener: contextvars.ContextVar[SpanOpener | None] = contextvars.ContextVar("span_opener", default=None)


def child_span(name: str) -> contextlib.AbstractContextManager[object]:
    """A span named `name` (`db.transaction`, `store.put`, ...) under the current one, if a request is traced."""
    opener = span_opener.get()
    return contextlib.nullcontext() if opener is None else opener(name)
