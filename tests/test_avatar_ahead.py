"""Items made ahead in a thread (avatar.ahead.MadeAhead): order, errors, early close."""

from __future__ import annotations

import threading

import pytest

from avatar.ahead import MadeAhead


def test_items_come_in_order_and_the_thread_ends():
    ahead = MadeAhead(range(100), depth=4, name="test-ahead")
    assert list(ahead) == list(range(100))
    assert not ahead._thread.is_alive()


def test_an_error_in_the_thread_is_raised_at_the_item_it_happened_at():
    def items():
        yield 1
        yield 2
        raise ValueError("template 3 is broken")

    got = []
    with pytest.raises(ValueError, match="template 3 is broken"):
        for item in MadeAhead(items(), depth=8):
            got.append(item)
    assert got == [1, 2]


def test_closing_early_stops_making_items():
    made = []
    stop = threading.Event()

    def items():
        for i in range(10_000):
            made.append(i)
            yield i
        stop.set()

    with MadeAhead(items(), depth=2) as ahead:
        assert next(ahead) == 0
    ahead._thread.join(timeout=5)
    assert not ahead._thread.is_alive()
    assert len(made) < 10 and not stop.is_set()
