"""locate's result on each checkout in a folder, written one file per repository, to compare two codes' outputs.

Run: ``PYTHONPATH=TREE python -P bench/locate_outputs.py OUT CHECKOUTS [NAME ...]`` (TREE: the folder holding the
``harness`` to run; CHECKOUTS: a folder of repository checkouts, e.g. each fixture's pinned commit as
tests/integration/test_real_repos.py's ``Source.checkout`` writes it); then ``diff -r OUT_BEFORE OUT_AFTER``. Each
file holds ``as_dict()`` less ``seconds`` and ``text()`` less its first line (which says the seconds). Prints each
repository's CPU seconds (not side by side: bench_locate.py --against is for timing).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from harness.steps.locate import locate


def main() -> None:
    out, checkouts, only = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    out.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for repo in sorted(checkouts.iterdir()):
        if only and repo.name not in only:
            continue
        started = time.process_time()
        result = locate(repo)
        took = time.process_time() - started
        total += took
        doc = result.as_dict()
        doc.pop("seconds")
        (out / f"{repo.name}.json").write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n"
                                               + result.text().split("\n", 1)[1])
        print(f"{repo.name:55s} {took:6.2f}", flush=True)
    print("TOTAL", round(total, 2))


if __name__ == "__main__":
    main()
