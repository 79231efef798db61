"""locate on a generated 10,000-file repo, against ``git ls-files`` and a plain walk, measured side by side.

Prints the ratio of locate's time to the bare listing: the cost of reading and
classifying every file. Run: ``python bench/bench_locate.py [N_FILES]``; with
``--repo PATH`` (repeatable) instead, locate on those checkouts (a real monorepo's
locale files, changelogs and migrations) against a plain walk of each. With ``--against TREE`` too (a folder holding
another commit's ``harness``, e.g. ``git archive COMMIT harness | tar -x -C TREE``), locate's CPU seconds on each repo
under that code and under this one, side by side: alternating child processes, best of 3 each; with ``--all FOLDER``
instead of ``--repo``, every checkout in FOLDER in one child per code (a test suite's spread), best of 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.steps.locate import locate


def make_repo(root: Path, n: int) -> None:
    for i in range(n):
        folder = root / f"src/pkg{i // 200}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(f"def f{j}(x):\n    return x + {j}\n" for j in range(20))
        if i % 1000 == 0:
            body += "EMBED_MODEL = 'nomic-embed-text'\n"
        (folder / f"mod{i}.py").write_text(body)
    (root / "node_modules/lib").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def real_repos(paths: list[str]) -> None:
    for path in map(Path, paths):
        files = sum(len(fs) for _, _, fs in os.walk(path))
        walk = best(lambda p=path: [f for _, _, fs in os.walk(p) for f in fs], repeat=3)
        took = best(lambda p=path: locate(p), repeat=3)
        print(f"{path.name}: {files} files; plain walk {walk * 1000:8.1f} ms; locate {took * 1000:8.1f} ms; "
              f"ratio {took / walk:6.1f}")


_CPU_OF_LOCATE = ("import sys, time; from harness.steps.locate import locate; t = time.process_time(); "
                  "[locate(r) for r in sys.argv[1:]]; print(time.process_time() - t)")


def cpu_of_locate(code: str, *repos: str) -> float:
    """CPU seconds of a locate of each of ``repos`` in one child process importing ``harness`` from ``code``."""
    # -P: the working directory is not put first on the path (run from a tree holding `harness`, both children
    # imported that one)
    out = subprocess.run([sys.executable, "-P", "-c", _CPU_OF_LOCATE, *repos], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": code})
    return float(out.stdout.split()[-1])


def all_side_by_side(against: str, folder: str) -> None:
    here = str(Path(__file__).resolve().parents[1])
    repos = [str(p) for p in sorted(Path(folder).iterdir()) if p.is_dir()]
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(2):
        times[0].append(cpu_of_locate(against, *repos))
        times[1].append(cpu_of_locate(here, *repos))
    before, after = min(times[0]), min(times[1])
    print(f"all {len(repos)} in {folder}: {against} {before:7.2f} CPU-s; this tree {after:7.2f} CPU-s; x{before / after:4.2f}")


def side_by_side(against: str, paths: list[str]) -> None:
    here = str(Path(__file__).resolve().parents[1])
    totals = [0.0, 0.0]
    for path in paths:
        times: tuple[list[float], list[float]] = ([], [])
        for _ in range(3):  # alternating, so that a change of the machine's load falls on both
            times[0].append(cpu_of_locate(against, path))
            times[1].append(cpu_of_locate(here, path))
        before, after = min(times[0]), min(times[1])
        totals[0] += before
        totals[1] += after
        print(f"{Path(path).name}: {against} {before:6.2f} CPU-s; this tree {after:6.2f} CPU-s; x{before / after:4.2f}")
    print(f"all {len(paths)}: {totals[0]:7.2f} CPU-s -> {totals[1]:7.2f} CPU-s; x{totals[0] / totals[1]:4.2f}")


def main() -> None:
    if "--against" in sys.argv and "--all" in sys.argv:
        return all_side_by_side(sys.argv[sys.argv.index("--against") + 1], sys.argv[sys.argv.index("--all") + 1])
    if "--against" in sys.argv:
        return side_by_side(sys.argv[sys.argv.index("--against") + 1],
                            [sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--repo"])
    if "--repo" in sys.argv:
        return real_repos([sys.argv[i + 1] for i, a in enumerate(sys.argv) if a == "--repo"])
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_repo(root, n)
        ls = best(lambda: subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True))
        walk = best(lambda: [f for _, _, fs in os.walk(root) for f in fs])
        git_locate = best(lambda: locate(root))
        subprocess.run(["rm", "-rf", str(root / ".git")], check=True)
        walk_locate = best(lambda: locate(root))
    print(f"files: {n}")
    print(f"git ls-files:   {ls * 1000:8.1f} ms   locate (git):  {git_locate * 1000:8.1f} ms   ratio {git_locate / ls:6.1f}")
    print(f"plain walk:     {walk * 1000:8.1f} ms   locate (walk): {walk_locate * 1000:8.1f} ms   ratio {walk_locate / walk:6.1f}")
    print(f"locate under a second: {'yes' if max(git_locate, walk_locate) < 1 else 'NO'}")


if __name__ == "__main__":
    main()
