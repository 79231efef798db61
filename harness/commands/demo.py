"""``backfill-harness demo``: the main job on the embedded default stack."""

from __future__ import annotations

import argparse
import sys

from ._common import add_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start a stack, load the demo RAG app, backfill it, report",
                       description="Start Postgres + an embedding provider, load the demo corpus, run its backfill.")
    p.add_argument("--model", default="all-minilm",
                   help="embedding model (default all-minilm; hash-embed:384 needs no extra install)")
    p.add_argument("--stack", choices=["auto", "embedded", "docker"], default="auto",
                   help="where Postgres and Ollama come from when DATABASE_URL/OLLAMA_HOST are unset (default auto)")
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ..output import emit

    echo = (lambda line: print(line, file=sys.stderr)) if args.json else print
    report = run_demo(args.model, prefer=None if args.stack == "auto" else args.stack, echo=echo)
    emit(report, args.json, report.text())
    return 0 if report.ok else 1
