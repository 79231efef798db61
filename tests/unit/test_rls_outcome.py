"""Row-level security's outcome: what scope says when the policies hide rows from the connecting role."""

from harness.checks.outcome import FAIL
from harness.profile import parse_profile
from harness.rls import TableSecurity, outcome

PROFILE = parse_profile("name: t\nprovider: {model: m, dimensions: 3}\nchunks: {table: nods_page_section, "
                        "collection_name: nods_page_section}\nembeddings: {vector: embedding}\n", env={})


def test_row_level_security_with_no_policy_asks_for_an_exempt_role_never_for_a_session_setting():
    """nextjs-openai-doc-search enables RLS on its tables and adds no policy: no setting shows a row to any role
    it applies to; scope advised `database.session: {the setting your policies read: ...}`."""
    hidden = outcome((TableSecurity("public.nods_page_section", True, False, True, "anon"),), PROFILE,
                     "nods_page_section")
    assert hidden.status == FAIL
    assert "database.session" not in hidden.note and "the setting your policies read" not in hidden.note
    assert "no policy" in hidden.note and "every row" in hidden.note and "role anon" in hidden.note
    assert "BYPASSRLS" in hidden.note and "service_role" in hidden.note


def test_row_level_security_with_policies_still_names_the_setting_they_read():
    hidden = outcome((TableSecurity("public.file_items", True, False, True, "reader", ("own",),
                                    ("request.jwt.claim.sub",)),), PROFILE, "file_items")
    assert hidden.status == FAIL and 'database.session: {request.jwt.claim.sub: "{tenant}"}' in hidden.note
