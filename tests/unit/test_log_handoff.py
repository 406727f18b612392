"""The log handoff: records leave the caller at once, even when the writer is stuck (a blocked stderr); past the
queue's capacity they are dropped and counted, never waited for; what was queued is written, in order, on drain."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from vault.http.observability import LOG_DROPS, LogHandoff


class _StuckWriter(logging.Handler):
    """Writes nothing until `gate` opens, like a stderr pipe nobody reads."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.gate.wait()
        self.lines.append(record.getMessage())


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.log_handoff")
    log.propagate, log.level = False, logging.INFO
    yield log
    log.handlers.clear()


def _dropped() -> float:
    return next(s.value for m in LOG_DROPS.collect() for s in m.samples if s.name.endswith("_total"))


def test_a_stuck_writer_costs_dropped_records_not_a_blocked_caller(logger: logging.Logger) -> None:
    writer = _StuckWriter()
    handoff = LogHandoff(writer, capacity=4)
    logger.addHandler(handoff)
    before = _dropped()

    def log_fifty() -> None:
        for n in range(50):
            logger.info("line %d", n)

    caller = threading.Thread(target=log_fifty)
    caller.start()
    caller.join(timeout=30)
    assert not caller.is_alive(), "logging waited for a writer that writes nothing"
    dropped = _dropped() - before
    writer.gate.set()
    handoff.close()  # drains: everything queued is written before close returns
    assert len(writer.lines) + dropped == 50
    assert 4 <= len(writer.lines) <= 5  # the queue's capacity, plus the record the writer held
    assert writer.lines == [f"line {n}" for n in range(len(writer.lines))]


def test_the_message_is_fixed_when_logged_and_written_directly_after_drain(logger: logging.Logger) -> None:
    writer = _StuckWriter()
    writer.gate.set()
    handoff = LogHandoff(writer)
    logger.addHandler(handoff)
    names = ["alice"]
    logger.info("read by %s", names)
    names.append("mallory")  # changed after the call: the line says what was true when it was logged
    handoff.drain()
    assert writer.lines == ["read by ['alice']"]
    logger.info("after %s", "drain")  # no writer thread any more: written in the caller, at once
    assert writer.lines[-1] == "after drain"
    handoff.close()
