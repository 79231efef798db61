"""backfill-harness DONE checks: run with ``pytest checks --bh-profile P --bh-collection C`` (see harness.pytest_plugin)."""
