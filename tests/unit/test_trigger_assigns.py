"""Which trigger functions set an input hash column (``introspect.assigns_column``): scope refuses the column when one
does, and must keep it where a trigger only fills a missing hash or only reads it."""

import pytest

from harness.introspect import assigns_column


@pytest.mark.parametrize("body", [
    "IF NEW.body_hash IS NULL THEN NEW.body_hash := md5(NEW.body); END IF;",
    "IF NEW.body_hash IS NULL THEN SELECT md5(NEW.body) INTO NEW.body_hash; END IF;",
    "NEW.body_hash := coalesce(NEW.body_hash, md5(NEW.body));",
    "IF NEW.body_hash IS DISTINCT FROM md5(NEW.body) THEN NEW.embedding := NULL; END IF;",
    "IF NEW.body_hash = md5(NEW.body) THEN RETURN NEW; END IF;",
    "NEW.updated_at := now();",
])
def test_a_trigger_filling_only_a_missing_hash_or_reading_it_does_not_set_it(body):
    assert not assigns_column(f"BEGIN\n  {body}\n  RETURN NEW;\nEND", "body_hash")


@pytest.mark.parametrize("body", [
    "NEW.body_hash := md5(NEW.body);",
    "NEW.body_hash = md5(NEW.body);",
    'NEW."body_hash" := md5(NEW.body);',
    "IF TG_OP = 'UPDATE' AND NEW.body IS DISTINCT FROM OLD.body THEN NEW.body_hash := md5(NEW.body); END IF;",
    "IF NEW.body_hash IS NULL OR NEW.body IS DISTINCT FROM OLD.body THEN NEW.body_hash := md5(NEW.body); END IF;",
    "SELECT md5(NEW.body) INTO STRICT NEW.body_hash;",
    "SELECT now(), md5(NEW.body) INTO NEW.updated_at, NEW.body_hash;",
    "NEW := jsonb_populate_record(NEW, jsonb_build_object('body_hash', md5(NEW.body)));",
])
def test_a_trigger_recomputing_the_hash_from_the_text_sets_it(body):
    assert assigns_column(f"BEGIN\n  {body}\n  RETURN NEW;\nEND", "body_hash")
