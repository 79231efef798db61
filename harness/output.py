"""Print a result for people, or as one JSON document for agents; secrets masked either way."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from . import redact


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, dates and numpy scalars as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "as_dict"):
            return to_jsonable(value.as_dict())
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    return value


def fields_dict(obj: Any, **computed: Any) -> dict[str, Any]:
    """Every dataclass field of ``obj`` as JSON values, then the computed ones (which may replace a field's form).

    ``as_dict`` methods derive from this, so a field added later is never silently left out.
    """
    out = {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    out.update({k: to_jsonable(v) for k, v in computed.items()})
    return out


def dumps(value: Any) -> str:
    return json.dumps(redact.redact(to_jsonable(value)), indent=2, sort_keys=False, default=str)


def emit(result: Any, as_json: bool, text: str | None = None, stream=None) -> None:
    """Write JSON (when asked) or the given human text."""
    stream = stream or sys.stdout
    if as_json:
        stream.write(dumps(result) + "\n")
    else:
        stream.write(redact.redact(text if text is not None else str(result)).rstrip("\n") + "\n")
