"""SpilledList: what a check must read again after reading a whole table, without holding it in memory."""

from harness.checks.spill import SpilledList


def test_past_its_limit_a_spilled_list_holds_fewer_items_in_memory_than_it_was_given():
    with SpilledList[int](limit=4) as items:
        for i in range(10):
            items.append(i)
            assert len(items.held) < 4
        assert len(items) == 10


def test_a_spilled_list_gives_back_every_item_in_the_order_appended():
    with SpilledList[tuple[int, str]](limit=3) as items:
        for i in range(11):
            items.append((i, str(i)))
        assert list(items) == [(i, str(i)) for i in range(11)]
        items.append((11, "11"))
        assert [i for i, _ in items] == list(range(12))


def test_within_its_limit_a_spilled_list_writes_no_file():
    with SpilledList[int](limit=100) as items:
        items.append(1)
        assert items.file is None and list(items) == [1]
