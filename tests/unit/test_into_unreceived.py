"""The one rule of whether a target's own command is given the collection --into NEW fills."""

from harness.steps.commandline import into_unreceived


def test_a_command_given_into_through_backfill_env_receives_it():
    assert into_unreceived("python sync.py", (), {"COLLECTION_NAME": "{into}"}, "profile backfill.command", "v2") is None


def test_a_command_given_into_in_backfill_args_receives_it():
    assert into_unreceived("python sync.py", ("--collection", "{into}"), {}, "profile backfill.command", "v2") is None


def test_a_command_given_only_the_live_collection_is_refused_naming_it():
    refusal = into_unreceived("python sync.py --collection {collection}", (), {"DB": "{database_url}"},
                              "flag --command", "v2")
    assert refusal is not None and refusal.startswith(
        "the backfill command (flag --command) 'python sync.py --collection {collection}' lacks the {into} placeholder")


def test_a_command_whose_code_reads_the_target_collection_variable_receives_it():
    assert into_unreceived("python sync.py", (), {}, "flag --command", "v2",
                           reads=("DATABASE_URL", "BACKFILL_TARGET_COLLECTION")) is None
