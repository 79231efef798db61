"""Vectors compared across tenants' views by what each view sends of them: one row a vector, never its rows."""

from harness.checks.distinct import first_rows, held_across


def _held(grp: str, n: int, lo: str, hi: str, texts: int) -> dict:
    return {"grp": grp, "n": n, "lo": lo, "hi": hi, "texts": texts}


def test_a_vector_two_views_hold_with_two_texts_is_held_across_them():
    held = held_across([[_held("v", 1, "a", "a", 1)], [_held("v", 1, "b", "b", 1)]])
    assert held == {"v": {"n": 2, "lo": "a", "hi": "b", "texts": 2}}


def test_a_vector_two_views_hold_with_one_text_is_not_held_across_them():
    assert held_across([[_held("v", 3, "a", "a", 1)], [_held("v", 2, "a", "a", 1)]]) == {}


def test_a_vector_one_view_holds_with_three_texts_keeps_its_count_of_texts():
    held = held_across([[_held("v", 3, "a", "c", 3)], [_held("v", 1, "b", "b", 1)], [_held("w", 1, "a", "a", 1)]])
    assert held == {"v": {"n": 4, "lo": "a", "hi": "c", "texts": 3}}


def test_rows_found_in_several_views_are_listed_once_the_first_by_key(monkeypatch):
    from harness.checks import distinct

    monkeypatch.setattr(distinct, "OFFENDERS_CAP", 2)
    rows = [{"collection": "c", "id": 3, "detail": "first"}, {"collection": "c", "id": 1, "detail": "x"},
            {"collection": "c", "id": 3, "detail": "again"}, {"collection": "c", "id": 2, "detail": "y"}]
    assert [(r["id"], r["detail"]) for r in first_rows(rows)] == [(1, "x"), (2, "y")]
    assert [(r["id"], r["detail"]) for r in first_rows(rows[:3])] == [(1, "x"), (3, "first")]


def test_rows_without_a_key_are_each_listed_after_those_with_one():
    rows = [{"collection": "c", "id": None, "detail": "inline, no key"}, {"collection": "c", "id": 2, "detail": "y"},
            {"collection": "c", "id": None, "detail": "another"}]
    assert [r["detail"] for r in first_rows(rows)] == ["y", "inline, no key", "another"]


def test_rows_without_a_text_give_a_vector_no_second_text_as_confirm_counts_them():
    """A NULL text has no hash: ``confirm`` counts distinct hashes (NULL is none), and so do views compared together."""
    views = [[_held("v", 1, None, None, 0)], [_held("v", 1, "b", "b", 1)], [_held("w", 2, None, None, 0)]]
    assert held_across(views) == {}
    assert held_across(views + [[_held("v", 1, "c", "c", 1)]]) == {"v": {"n": 3, "lo": "b", "hi": "c", "texts": 2}}
