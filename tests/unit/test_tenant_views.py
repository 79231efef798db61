"""Counts read tenant by tenant under database.session, added up into one collection's."""

from harness.checks.session import _merge, in_view
from harness.checks.stats import CollectionStats, TenantCounts

ALICE, BOB = "a11ce000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002"


def view(chunks: int, embedded: int, tenant: str | None = None) -> CollectionStats:
    return CollectionStats("document_sections", chunks, embedded, 0, 0, 0, 0, 0, 0, 0,
                           (TenantCounts(tenant, chunks, embedded),), ())


def test_rows_of_no_tenant_column_are_counted_under_the_tenant_whose_view_showed_them():
    """chatgpt-your-files' sections name no owner (the policies reach it through the document): coverage said
    `tenant None: 13/16; tenant None: 8/8`; each view's rows are its tenant's."""
    merged = _merge([in_view(view(16, 13), ALICE), in_view(view(8, 8), BOB)])
    assert [(t.tenant, t.embedded, t.chunks) for t in merged.tenants] == [(ALICE, 13, 16), (BOB, 8, 8)]
    assert (merged.chunks, merged.embedded) == (24, 21)


def test_a_tenant_column_keeps_its_own_values_and_a_view_of_no_tenant_is_left_as_it_is():
    assert in_view(view(3, 3, "acme"), ALICE).tenants[0].tenant == "acme"
    assert in_view(view(3, 3), None).tenants[0].tenant is None
