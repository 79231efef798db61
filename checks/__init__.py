"""backfill-harness DONE checks: run with ``pytest checks --profile P --collection C`` (see harness.pytest_plugin)."""
