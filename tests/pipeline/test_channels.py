import threading

import pytest

from rtseg.pipeline.channels import EOS, Channel, Policy


def make(policy: Policy, capacity: int = 3) -> tuple[Channel, threading.Event]:
    stop = threading.Event()
    return Channel("a->b", policy, stop, capacity), stop


def drain(ch: Channel) -> list:
    items = []
    while (item := ch.get(timeout=0.01)) is not None:
        items.append(item)
    return items


def test_latest_keeps_newest_and_counts_each_overwrite():
    ch, _ = make(Policy.LATEST)
    for i in range(5):
        assert ch.put(i)
    assert ch.drops == 4
    assert drain(ch) == [4]


def test_latest_never_hands_out_the_same_item_twice():
    ch, _ = make(Policy.LATEST)
    seen: list[int] = []
    done = threading.Event()

    def consume():
        while not done.is_set() or len(ch):
            item = ch.get(timeout=0.01)
            if item is not None:
                seen.append(item)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(2000):
        ch.put(i)
    done.set()
    t.join(5)
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert len(seen) + ch.drops == 2000


def test_latest_never_drops_the_end_marker():
    ch, _ = make(Policy.LATEST)
    ch.put(1)
    ch.put(EOS)
    ch.put(2)
    assert drain(ch) == [1, EOS, 2]
    assert ch.drops == 0


def test_block_keeps_order_and_never_drops_under_back_pressure():
    ch, _ = make(Policy.BLOCK, capacity=2)
    got: list[int] = []

    def consume():
        while len(got) < 500:
            item = ch.get(timeout=0.05)
            if item is not None:
                got.append(item)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(500):
        assert ch.put(i)
    t.join(5)
    assert got == list(range(500))
    assert ch.drops == 0
    assert ch.high_water <= 2


def test_block_put_gives_up_when_stopped():
    ch, stop = make(Policy.BLOCK, capacity=1)
    ch.put(0)
    result = []
    t = threading.Thread(target=lambda: result.append(ch.put(1)))
    t.start()
    stop.set()
    t.join(2)
    assert not t.is_alive()
    assert result == [False]


def test_get_times_out_with_none():
    ch, _ = make(Policy.BLOCK)
    assert ch.get(timeout=0.01) is None


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        Channel("x", Policy.BLOCK, threading.Event(), 0)
