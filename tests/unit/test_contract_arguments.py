"""A command's required positional arguments (argparse's, click's, typer's) are given by the words its command line
gives its script that are neither flags, flag values nor the name of the subcommand it runs; scope refuses a command
given fewer than it requires, as it refuses one not given a required flag."""

from harness.checks.outcome import FAIL, PASS
from harness.steps.contract_check import check_contract
from .test_contract_check import outcome, settings_for

ARGPARSE = '''import argparse

parser = argparse.ArgumentParser()
parser.add_argument("folder")
parser.add_argument("--model", required=True)
args = parser.parse_args()
'''

TYPER = '''import typer

app = typer.Typer()


@app.command()
def ingest(path: str, model: str = "nomic-embed-text") -> None:
    print(path, model)


@app.command()
def serve(port: int = typer.Option(8000, "--port")) -> None:
    print(port)


if __name__ == "__main__":
    app()
'''


def flags_check(tmp_path, name: str, source: str, command: str):
    (tmp_path / name).write_text(source)
    return outcome(check_contract(settings_for(str(tmp_path), command), "c", caller_env={}), "command's required flags")


def test_an_argparse_positional_argument_the_command_line_gives_is_given(tmp_path):
    # `python embed.py docs --model x` runs; scope refused it: "the command requires folder, which it is not given"
    assert flags_check(tmp_path, "embed.py", ARGPARSE, "python embed.py docs --model x").status == PASS


def test_a_flags_value_gives_no_positional_argument(tmp_path):
    checked = flags_check(tmp_path, "embed.py", ARGPARSE, "python embed.py --model x")
    assert checked.status == FAIL and "requires folder," in checked.found, checked.found


def test_a_typer_commands_argument_is_given_by_a_word_after_the_commands_name(tmp_path):
    assert flags_check(tmp_path, "cli.py", TYPER, "python cli.py ingest docs/").status == PASS


def test_the_name_of_the_typer_command_run_gives_none_of_its_arguments(tmp_path):
    # typer stops `python cli.py ingest` before it starts: "Missing argument 'PATH'"
    checked = flags_check(tmp_path, "cli.py", TYPER, "python cli.py ingest --model m")
    assert checked.status == FAIL and "requires path," in checked.found, checked.found


def test_a_make_recipes_function_call_gives_no_positional_argument(tmp_path):
    # private-gpt's `make ingest`: `python scripts/ingest_folder.py $(call args)`, the goals after the target (none)
    (tmp_path / "Makefile").write_text("args = `echo $${arg:-${1}}`\n\ningest:\n\t@python embed.py $(call args) --model x\n")
    checked = flags_check(tmp_path, "embed.py", ARGPARSE, "make ingest")
    assert checked.status == FAIL and "requires folder," in checked.found, checked.found


def test_the_name_of_a_django_command_gives_none_of_its_arguments(tmp_path):
    (tmp_path / "manage.py").write_text("import sys\n")
    (tmp_path / "app" / "management" / "commands").mkdir(parents=True)
    command = '''from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("folder")
'''
    checked = flags_check(tmp_path, "app/management/commands/embed.py", command, "python manage.py embed")
    assert checked.status == FAIL and "requires folder," in checked.found, checked.found
    assert flags_check(tmp_path, "app/management/commands/embed.py", command,
                       "python manage.py embed docs").status == PASS
