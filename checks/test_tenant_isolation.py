"""Every embedding sits in its chunk's collection and tenant; tenant-filtered search leaks nothing."""

from harness.checks import tenant_isolation


def test_tenant_isolation(check_session, check_collection, check_outcome):
    check_outcome(tenant_isolation, check_session, check_collection)
