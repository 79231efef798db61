"""The procedure as steps: each a function returning a typed result (scope, locate, plan, run, verify, record)."""

from .common import BackfillCommand, backfill_command, backfill_env, default_run_dir
from .locate import Entrypoint, FileHits, LocateResult, locate
from .plan import Plan, make_plan
from .procedure import ProcedureResult, StepOutcome, run_procedure
from .record import RecordResult, entry_from_run, record
from .run import parse_done_line, run_command
from .scope import Input, ScopeResult, scope
from .verify import VerifyResult, parse_junit, verify

__all__ = [
    "BackfillCommand", "Entrypoint", "FileHits", "Input", "LocateResult", "Plan",
    "ProcedureResult", "RecordResult", "ScopeResult", "StepOutcome", "VerifyResult", "backfill_command", "backfill_env",
    "default_run_dir", "entry_from_run", "locate", "make_plan", "parse_done_line", "parse_junit", "record",
    "run_command", "run_procedure", "scope", "verify",
]
