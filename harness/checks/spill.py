"""A list that keeps at most ``limit`` items in memory and pickles the rest to a temporary file, for the rows a
check reads one at a time and must look at again once it has read them all (``--sample all`` over a whole table)."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Generic, TypeVar

T = TypeVar("T")

LIMIT = 50_000  # items held in memory; each beyond goes to the file, in pickled pieces of this many


class SpilledList(Generic[T]):
    def __init__(self, limit: int | None = None) -> None:
        self.limit = max(1, LIMIT if limit is None else limit)
        self.held: list[T] = []
        self.file: IO[bytes] | None = None
        self.count = 0

    def append(self, item: T) -> None:
        self.held.append(item)
        self.count += 1
        if len(self.held) >= self.limit:
            if self.file is None:
                self.file = tempfile.TemporaryFile(prefix="bh-spill-")
            pickle.dump(self.held, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.held = []

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[T]:
        """Every item, in the order appended (one piece of the file in memory at a time)."""
        if self.file is not None:
            self.file.flush()
            self.file.seek(0)
            while True:
                try:
                    piece = pickle.load(self.file)
                except EOFError:
                    break
                yield from piece
        yield from self.held

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def __enter__(self) -> "SpilledList[T]":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
