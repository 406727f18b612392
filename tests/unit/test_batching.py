"""vault.core.batching.Batcher: what concurrent callers submit is done together, one batch at a time."""

from __future__ import annotations

import asyncio

import pytest

from vault.core.batching import Batcher


class Doubler:
    """Work that doubles each item, records its batches, and can be held or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failing = False

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(items)
        await self.gate.wait()
        if self.failing:
            raise OSError("the database went away")
        return [2 * item for item in items]


def batcher(work: Doubler, max_items: int = 100) -> Batcher[int, int]:
    return Batcher(work, max_items=max_items, name="test", abandoned=lambda: RuntimeError("abandoned"))


async def test_items_submitted_while_a_batch_is_in_flight_go_together_and_each_gets_its_own_result() -> None:
    work = Doubler()
    work.gate.clear()
    batches = batcher(work)
    first = asyncio.create_task(batches.submit(1))
    await asyncio.sleep(0)  # the first batch is in flight, held
    rest = [asyncio.create_task(batches.submit(n)) for n in range(2, 7)]
    await asyncio.sleep(0)
    work.gate.set()
    assert await first == 2
    assert await asyncio.gather(*rest) == [4, 6, 8, 10, 12]
    assert work.batches == [[1], [2, 3, 4, 5, 6]]


async def test_a_batch_holds_at_most_max_items() -> None:
    work = Doubler()
    batches = batcher(work, max_items=2)
    assert await asyncio.gather(*(batches.submit(n) for n in range(5))) == [0, 2, 4, 6, 8]
    assert work.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_batch_fails_each_of_its_items_and_the_next_batch_is_done() -> None:
    work = Doubler()
    work.failing = True
    batches = batcher(work)
    failed = await asyncio.gather(*(batches.submit(n) for n in range(3)), return_exceptions=True)
    assert [type(error) for error in failed] == [OSError, OSError, OSError]
    work.failing = False
    assert await batches.submit(7) == 14


async def test_a_caller_that_goes_away_does_not_cancel_the_batch() -> None:
    work = Doubler()
    work.gate.clear()
    batches = batcher(work)
    leaving, staying = asyncio.create_task(batches.submit(1)), asyncio.create_task(batches.submit(2))
    await asyncio.sleep(0)
    leaving.cancel()
    work.gate.set()
    assert await staying == 4
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_closing_waits_for_the_work_or_abandons_it() -> None:
    work = Doubler()
    batches = batcher(work)
    waited = asyncio.create_task(batches.submit(3))
    await asyncio.sleep(0)
    await batches.close()  # returns once the batch carrying 3 is done
    assert work.batches == [[3]]
    assert await waited == 6
    work.gate.clear()
    abandoned = asyncio.create_task(batches.submit(4))
    await asyncio.sleep(0)  # submitted: the batch's task is created, and has not run yet
    await batches.close(cancel=True)
    with pytest.raises(RuntimeError, match="abandoned"):
        await abandoned


def test_a_batch_needs_room_for_an_item() -> None:
    with pytest.raises(ValueError):
        batcher(Doubler(), max_items=0)
