"""The server hides its start-up heap from the collector before serving (web/listener.py)."""

from __future__ import annotations

import gc

from soap_service.web.listener import settle_heap


def test_settle_heap_freezes_what_exists_and_later_objects_stay_collectable() -> None:
    try:
        settle_heap()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # this process's modules, classes, schemas...

        class Cycle:
            pass

        made = Cycle()
        made.me = made  # type: ignore[attr-defined]
        del made
        assert gc.collect() >= 1  # a cycle made after the freeze is still collected
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
