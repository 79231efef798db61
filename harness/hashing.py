"""The input hash stored beside each vector: SHA-256 (hex) of the UTF-8 text that was embedded.

``harness.target.Target.text_hash`` computes the same value inside Postgres,
so freshness can be checked without moving texts out of the database.
"""

from __future__ import annotations

import hashlib


def text_hash(text: str) -> str:
    """SHA-256 hex digest of the text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
