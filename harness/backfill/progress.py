"""Progress people can read: a bar with rate and ETA on a terminal, a line every few seconds otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("harness.backfill")


class Progress:
    def __init__(self, total: int, *, enabled: bool | None = None, stream=None, every_s: float = 5.0):
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if enabled is None else enabled
        self.to_stream = enabled is None  # chosen for a person: lines on stderr; turned off by a caller: the log only
        self.every_s = every_s
        self.started = time.monotonic()
        self._last_log = self.started

    def advance(self, rows: int, failed: int) -> None:
        self.done += rows
        self.failed = failed
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.render(now))
            self.stream.flush()
        elif now - self._last_log >= self.every_s or self.done >= self.total:
            # Written to the stream itself (stderr), not the log, so it shows without --verbose.
            self._last_log = now
            if self.to_stream:
                self.stream.write("progress: " + self.render(now) + "\n")
                self.stream.flush()
            else:
                log.info("%s", self.render(now))

    def render(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        left = max(self.total - self.done, 0)
        eta = left / rate if rate > 0 else float("inf")
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        eta_text = f"{eta:5.0f}s" if eta != float("inf") else "    ?"
        return f"[{bar}] {self.done}/{self.total} rows  {rate:7.1f} rows/s  ETA {eta_text}  failures {self.failed}"

    def close(self) -> None:
        if self.tty and self.total:
            self.stream.write("\n")
            self.stream.flush()
