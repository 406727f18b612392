"""Micro-batching: what concurrent callers ask for is done together, one batch at a time, by one task.

While a batch is in flight the next one gathers, so a lone caller is served at once and a busy process serves
many per batch: no timer, no added latency. The audit's group commit (one INSERT for every row waiting) and
the owner read lane's PostgreSQL reads (one query for every document asked for) both work this way.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

__all__ = ("Batcher",)

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Runs `work` on the items submitted while the previous batch was in flight.

    Args:
        work: does one batch; returns one result per item, in order, or raises (every item of the batch then
            gets that exception).
        max_items: most items in one batch.
        name: the task's name.
        abandoned: the exception for items nobody will do any more (the task was cancelled: shutdown).
    """

    def __init__(
        self,
        work: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_items: int,
        name: str,
        abandoned: Callable[[], Exception],
    ) -> None:
        if max_items < 1:
            raise ValueError("a batch needs room for an item")
        self._work = work
        self._max_items = max_items
        self._name = name
        self._abandoned = abandoned
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """`item`'s result once the batch that carried it is done.

        A caller that goes away does not cancel the batch: the other callers' items are done all the same.
        """
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self._name)
        return await asyncio.shield(future)

    async def _run(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._max_items], self._waiting[self._max_items :]
                try:
                    results = await self._work([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._task = None
            for _, future in batch + self._waiting:  # only when cancelled (shutdown): nobody does these any more
                if not future.done():
                    future.set_exception(self._abandoned())
            self._waiting = []

    async def close(self, *, cancel: bool = False) -> None:
        """Let the task finish what is waiting, or with `cancel` abandon it (call at shutdown)."""
        task = self._task
        if task is not None:
            if cancel:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # a task cancelled before it first ran never reached its `finally`: abandon what it would have
        self._task = None
        for _, future in self._waiting:
            if not future.done():
                future.set_exception(self._abandoned())
        self._waiting = []
