"""Keep secrets out of everything the harness writes: logs, plans, reports, JSON, the historylog.

Redaction is by value, not by field: every secret the process knows of (DSN
passwords, provider header values, secret-looking environment variables) is
registered once and replaced wherever it appears.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, overload
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

MASK = "***"
# PASS and PWD as words of a name (DB_PASS, POSTGRES_PASS, DB_PWD), as applications name their passwords: not PASSAGE,
# BYPASS or the shell's PWD (the working directory).
_SECRET_ENV = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|AUTH|CREDENTIAL|PRIVATE"
                         r"|(?<![A-Z])PASS(?![A-Z])|(?<=_)PWD(?![A-Z]))", re.I)
# The password runs to the last '@' of the authority: one holding an unescaped '@' is masked whole. libpq ends the
# authority at the first '/' only: a '?' or '#' before the '@' is the password's (it connects with it).
# A password holding a '/' (libpq reads none, yet locate shows a DSN an f-string builds of a file's literals) ends at
# its first '@', unless what follows the ':' is a port and a path (http://host:8080/users/@me).
_DSN_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\s/]*|(?!\d+[/?#])[^\s@]*)(?P<tail>@)",
                           re.I)
# A DSN's own password, spaces included: libpq refuses one with a space, naming it in its error.
_URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^:/@\s]*:(?P<pw>[^/]*)@", re.I)
# libpq's password, and sslpassword: the passphrase of the client's key.
_KV_PASSWORD = re.compile(r"(?P<head>\b(?:ssl)?password\s*=\s*)(?P<pw>'[^']*'|\S+)", re.I)
# A command line's flag naming a secret (--password VALUE, --openai-api-key=VALUE, --auth-token 'VALUE'): the name ends
# with the secret's word, so --max-tokens 512 keeps its number; the value is the next word, quoted or not.
_FLAG_SECRET = re.compile(r"(?P<head>(?<![\w-])--?(?:[a-z0-9]+[-_])*(?:password|passwd|pwd|pass|secret|token|"
                          r"(?:api|access|secret|private)[-_]?key|credentials?)(?:=|\s+))"
                          r"(?P<pw>'[^']*'|\"[^\"]*\"|(?!-)\S+)", re.I)
_BEARER = re.compile(r"(?P<head>\b(?:Bearer|Basic|Token)\s+)(?P<pw>[A-Za-z0-9._~+/=-]{8,})")

_lock = threading.Lock()
_known: set[str] = set()


def register(*secrets: str | None) -> None:
    """Remember values that must never be written anywhere, in every spelling a URL or a log may give them."""
    with _lock:
        for secret in secrets:
            for form in _spellings(secret) if secret else ():
                # Very short values would mask ordinary words; real secrets are longer.
                if len(form) >= 4:
                    _known.add(form)


def _spellings(secret: str) -> set[str]:
    """The secret, its URL-encoded and decoded forms, and the parts around an '@' (libpq ends a password at the
    first '@' and names the rest as the host in its errors)."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), unquote(secret), unquote_plus(secret)}
    for form in list(forms):
        if "@" in form:
            forms.update(part for part in form.split("@") if part)
    return forms


def register_env(env: Mapping[str, str] | None = None) -> None:
    """Register secret-looking environment variables and the password of any DSN in them."""
    env = os.environ if env is None else env
    for name, value in env.items():
        if _SECRET_ENV.search(name):
            register(value)
        if "://" in (value or ""):
            register(dsn_password(value))


def register_headers(headers: Mapping[str, str]) -> None:
    """Register every header value (Authorization, X-Api-Key, ...) as a secret."""
    for value in headers.values():
        register(value)
        for match in _BEARER.finditer(value or ""):
            register(match.group("pw"))


def dsn_password(dsn: str | None) -> str | None:
    """Return the password in a URL-style or key=value DSN, if any: the one libpq connects with where it parses."""
    if not dsn:
        return None
    if not unescaped_at(dsn):  # libpq would read such a password's tail as the host: the pattern masks it whole
        from psycopg.conninfo import conninfo_to_dict

        try:
            # libpq's own parser: a query's password beside other parameters, a quoted or unquoted value with
            # escaped characters (the patterns below stopped at the first one, and the password went unregistered).
            parsed = conninfo_to_dict(dsn).get("password")
        except Exception:  # noqa: BLE001  a DSN libpq cannot parse: read it by the patterns
            parsed = None
        if parsed:
            return str(parsed)
    match = _URL_PASSWORD.search(dsn)
    if match and match.group("pw"):
        return unquote(match.group("pw"))
    match = _KV_PASSWORD.search(dsn)
    if match:
        return match.group("pw").strip("'")
    return None


def unescaped_at(dsn: str | None) -> bool:
    """Whether a URL-style DSN's user or password holds an '@' that is not percent-encoded."""
    if not dsn or "://" not in dsn:
        return False
    authority = re.split(r"[/?#]", dsn.split("://", 1)[1], maxsplit=1)[0]
    return authority.count("@") > 1


@overload
def safe_dsn(dsn: str) -> str: ...
@overload
def safe_dsn(dsn: None) -> None: ...
@overload
def safe_dsn(dsn: str | None) -> str | None: ...


def safe_dsn(dsn: str | None) -> str | None:
    """A DSN fit for display: the password masked, everything else kept."""
    if not dsn:
        return dsn
    if _DSN_PASSWORD.match(dsn):
        return redact(dsn)  # urllib would end the password at a '?' or '#', which libpq reads as the password's
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return redact(dsn)
    if parts.scheme and parts.password is not None:
        user = parts.username or ""
        # The host part as written (a documented `HOST:PORT` is no number: urllib's .port raises on it).
        host = parts.netloc.rpartition("@")[2]
        # The query too: libpq reads a password (or sslpassword) there after the authority's.
        return redact(urlunsplit((parts.scheme, f"{user}:{MASK}@{host}", parts.path, parts.query, parts.fragment)))
    return redact(dsn)


def redact(value: Any) -> Any:
    """Return the value with every known secret (and DSN password pattern) masked, recursing into containers."""
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value) if isinstance(value, list) else tuple(redact(v) for v in value)
    return value


def _redact_text(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _DSN_PASSWORD.sub(lambda m: m.group("head") + (MASK if m.group("pw") else "") + m.group("tail"), text)
    text = _KV_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
    text = _FLAG_SECRET.sub(lambda m: m.group("head") + MASK, text)
    text = _BEARER.sub(lambda m: m.group("head") + MASK, text)
    return text


def redact_env(env: Mapping[str, str], keys: Iterable[str] | None = None) -> dict[str, str]:
    """An environment fit for display: secret-looking names masked, DSN passwords masked."""
    shown = {}
    for name in keys if keys is not None else env:
        if name not in env:
            continue
        value = env[name]
        shown[name] = MASK if _SECRET_ENV.search(name) and value else redact(value)
    return shown
