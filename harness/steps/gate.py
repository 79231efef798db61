"""The scope gate: run, backfill, swap and the procedure go ahead only when scope passes for the same settings.

The gate reads the database only: an unknown collection, a model switch without approval, ``--into`` the
collection itself or a non-empty one of another model, a missing vector column or disagreeing declared dimensions.

One place decides; an override is allowed only with a stated reason, which the evidence and the historylog keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, RefusedError
from ..settings import Settings
from .common import BackfillCommand
from .scope import ScopeResult, scope

OPEN, REFUSED, OVERRIDDEN = "open", "refused", "overridden"


@dataclass(frozen=True)
class GateDecision:
    command: str  # who asked: run / backfill / swap / procedure
    status: str  # open / refused / overridden
    reason: str | None  # why scope refuses (None when it passes)
    override: str | None  # the reason given with --override
    scope: ScopeResult

    @property
    def closed(self) -> bool:
        return self.status == REFUSED

    def refusal(self) -> str:
        return (f"{self.command} refused: scope does not pass for these settings: {self.reason}; nothing written. "
                "Expected scope to pass, or --override \"REASON\" naming who approved going ahead")

    def enforce(self) -> "GateDecision":
        """Raise RefusedError (exit 2) when the gate is closed; else return self."""
        if self.closed:
            raise RefusedError(self.refusal())
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"gate": "scope", "status": self.status, "reason": self.reason, "override": self.override,
                "scope_exit_code": self.scope.exit_code, "approve_model_change": self.scope.approve_model_change}

    def line(self) -> str:
        """One line for the historylog (None-free), e.g. ``scope overridden (owner approved): ...``."""
        if self.status == OPEN:
            return "scope passed"
        if self.status == OVERRIDDEN:
            return f"scope refused, overridden ({self.override}): {self.reason}"
        return f"scope refused: {self.reason}"


def scope_gate(settings: Settings, collection: str, *, command: str, into: str | None = None,
               approve_model_change: bool = False, override: str | None = None,
               runs_target_command: bool = False, backfill: BackfillCommand | None = None) -> GateDecision:
    """Compute scope for these settings and decide whether ``command`` may go ahead.

    ``runs_target_command``: the target's own backfill command will run, so the environment contract of
    ``backfill`` (default: the profile's command) is checked too; the engine (``backfill``, ``run --engine``) and
    ``swap`` never run it."""
    # The provider is not asked: its availability and the model's real dimension are the run's own checks
    # (a transient fault must be retried by the run, not turned into a refusal here).
    checked = scope(settings, collection, approve_model_change=approve_model_change, into=into, check_provider=False,
                    check_contract=runs_target_command, command=backfill)
    return decide(command, checked, override)


def decide(command: str, checked: ScopeResult, override: str | None = None) -> GateDecision:
    """The rule: open when scope passes; else refused, or overridden when a reason is given."""
    if override is not None and not override.strip():
        raise ConfigError("--override needs a reason, e.g. --override \"owner approved: ...\"; found an empty one")
    if checked.ok:
        return GateDecision(command, OPEN, None, override, checked)
    status = OVERRIDDEN if override else REFUSED
    return GateDecision(command, status, checked.reason or "scope failed", override, checked)
