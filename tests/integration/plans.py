"""Reading EXPLAIN (VERBOSE, FORMAT JSON) plans: what a statement's nodes carry."""

from __future__ import annotations

import re


def nodes(plan: dict):
    """Every node of a plan, depth first."""
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def wide(columns) -> list[str]:
    """The vector and text columns a plan node passes on whole (``e.embedding``, ``e_1.embedding``, ``c.content``),
    not values computed from them."""
    return [c for c in columns if re.fullmatch(r"\(?[a-z_]+(_\d+)?\.(embedding|content)\)?", c)]


def hashed_sides(plan: dict) -> list[str]:
    """The columns each hash join's inputs carry into it."""
    return [column for join in nodes(plan) if join["Node Type"] == "Hash Join"
            for child in join["Plans"] for column in child["Output"]]
