"""``backfill-harness demo``: the main job on the embedded default stack."""

from __future__ import annotations

import argparse
import sys

from ._common import add_json, folder_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="start a stack, load the demo RAG app, run the whole procedure on it, report",
                       description="Start Postgres + an embedding provider, load the demo corpus, run its backfill.")
    p.add_argument("--model", default="all-minilm",
                   help="embedding model (default all-minilm; hash-embed:384 needs no extra install)")
    p.add_argument("--stack", choices=["auto", "embedded", "docker"], default="auto",
                   help="where Postgres and Ollama come from when DATABASE_URL/OLLAMA_HOST are unset (default auto)")
    p.add_argument("--out", type=folder_arg("--out"), help="folder for the run folders and the historylog (default runs/<UTC time>-demo/)")
    p.add_argument("--checks", help="the DONE checks folder (default: this project's checks/)")
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import run_demo
    from ..output import emit

    # Progress goes to stderr so stdout holds only the summary a person reads.
    echo = (lambda line: print(line, file=sys.stderr, flush=True))
    report = run_demo(args.model, prefer=None if args.stack == "auto" else args.stack, echo=echo, out_dir=args.out,
                      checks_dir=args.checks)
    emit(report, args.json, report.text())
    return 0 if report.ok else 1
