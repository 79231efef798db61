"""The profile fragments the docs show for real applications' shapes load as profiles."""

import re

import pytest

from harness.profile import parse_profile

from ..skill_docs import EXAMPLES_MD

BLOCKS = re.findall(r"```yaml\n(.*?)```", EXAMPLES_MD.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("text", [b for b in BLOCKS if b.startswith("name:")])
def test_documented_profile_loads(text):
    profile = parse_profile(text, env={})
    assert profile.chunks.table


def test_the_docs_show_an_inline_column_defaults_and_a_session():
    loaded = [parse_profile(b, env={}) for b in BLOCKS if b.startswith("name:")]
    assert any(p.inline and p.chunks.collection_name for p in loaded)
    assert any(p.embeddings.defaults and p.database.per_tenant and p.backfill.probe_command for p in loaded)
