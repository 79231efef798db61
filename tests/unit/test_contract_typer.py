"""locate reads a typer command's parameters as it reads argparse's: each option under the names it declares
(`typer.Option(..., "--meeting-id", "-m")`, else its parameter's name dashed), its default (the first argument), and
whether it is required (`...` as that default, an argument without one); a click command's `@click.argument`s too.
A required option the command line does not give stops the command before it starts (typer exits 2)."""

from harness.checks.outcome import FAIL, PASS
from harness.locate.contract import command_contract, read_contract
from harness.steps.contract_check import check_contract
from .test_contract_check import outcome, settings_for

TYPER = '''from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Embedding ingestion entry point.")


@app.command()
def main(
    meeting_id: str = typer.Option(..., "--meeting-id", "-m"),
    turns_path: Path = typer.Option(..., "--turns-path", exists=True, readable=True),
    model: str = typer.Option("nomic-embed-text", help="the embedding model"),
    skip_existing: bool = typer.Option(True, "--skip-existing/--no-skip-existing"),
    batch_size: int = typer.Option(16, "--batch-size"),
    source: Path = typer.Argument(...),
    label: Annotated[str, typer.Option("--label")] = "all",
    table: Annotated[str, typer.Option(help="the table")],
    tags: list[str] = typer.Option(default_factory=list),
) -> None:
    print(meeting_id, turns_path, model, skip_existing, batch_size, source, label, table, tags)


if __name__ == "__main__":
    app()
'''

CLICK = '''import click


@click.command()
@click.argument("folder")
@click.argument("pattern", default="*.md")
@click.option("--model", default="nomic-embed-text")
def main(folder, pattern, model):
    print(folder, pattern, model)
'''


def test_typers_options_are_read_with_the_names_they_declare_and_their_defaults():
    c = read_contract("ingest.py", TYPER)
    assert c.flags == ("--meeting-id", "--turns-path", "--model", "--skip-existing", "--batch-size", "source",
                       "--label", "--table", "--tags"), c.flags
    assert c.flag_aliases == (("-m", "--meeting-id"),)
    assert dict(c.flag_defaults) == {"--model": "nomic-embed-text", "--label": "all"}


def test_typers_options_and_arguments_without_a_default_are_required():
    c = read_contract("ingest.py", TYPER)
    assert c.required_flags == ("--meeting-id", "--turns-path", "source", "--table"), c.required_flags


def test_clicks_arguments_without_a_default_are_required():
    c = read_contract("embed.py", CLICK)
    assert c.flags == ("folder", "pattern", "--model") and c.required_flags == ("folder",), (c.flags, c.required_flags)


def test_scope_fails_a_typer_command_not_given_its_required_options(tmp_path):
    (tmp_path / "ingest.py").write_text(TYPER)
    result = check_contract(settings_for(str(tmp_path), "python ingest.py --meeting-id a"), "c", caller_env={})
    flags = outcome(result, "command's required flags")
    assert flags.status == FAIL and not result.ok
    assert "--turns-path, source, --table" in flags.found and "--meeting-id" not in flags.found, flags.found


def test_scope_passes_a_typer_command_given_its_required_options(tmp_path):
    (tmp_path / "ingest.py").write_text(TYPER.replace("    source: Path = typer.Argument(...),\n", ""))
    settings = settings_for(str(tmp_path), "python ingest.py -m a --turns-path t.json --table x")
    assert outcome(check_contract(settings, "c", caller_env={}), "command's required flags").status == PASS


BATCH = '''import typer

from ingest import main as ingest_one

app = typer.Typer(help="Batch ingestion across many meetings.")


@app.command()
def main(meeting_id: list[str] = typer.Option([], "--meeting-id")) -> None:
    for m in meeting_id:
        ingest_one(m)


if __name__ == "__main__":
    app()
'''


def test_a_script_imported_by_the_command_requires_none_of_its_own_options(tmp_path):
    """Meeting-RAG-Local's ingest_many_meetings.py imports ingest_embeddings.py, a typer script of its own whose
    `--meeting-id` and `--turns-path` are required when it is run: imported, its parser never runs."""
    (tmp_path / "ingest.py").write_text(TYPER)
    (tmp_path / "batch.py").write_text(BATCH)
    assert command_contract("python batch.py", tmp_path).required_flags == ()
    assert command_contract("python ingest.py", tmp_path).required_flags == ("--meeting-id", "--turns-path", "source",
                                                                            "--table")


ENV_BACKED = '''import click
import typer
from typing import Annotated


@click.command()
@click.option("--dsn", required=True, envvar="DATABASE_URL")
@click.argument("folder", envvar="DOCS_FOLDER")
def embed(dsn, folder):
    print(dsn, folder)


def main(database_url: str = typer.Option(..., envvar="DATABASE_URL"),
         model: Annotated[str, typer.Option("--model", envvar="EMBED_MODEL")],
         meeting_id: str = typer.Option(..., "--meeting-id")) -> None:
    print(database_url, model, meeting_id)
'''


def test_an_option_an_environment_variable_fills_is_not_a_required_flag():
    # typer's `typer.Option(..., envvar="DATABASE_URL")` and click's `required=True, envvar=...` take the variable when
    # the flag is not given: scope refused such a command for a flag the application reads from its environment.
    c = read_contract("cli.py", ENV_BACKED)
    assert c.required_flags == ("--meeting-id",), c.required_flags
    assert dict(c.flag_env) == {"--dsn": "DATABASE_URL", "folder": "DOCS_FOLDER", "--database-url": "DATABASE_URL",
                                "--model": "EMBED_MODEL"}, c.flag_env


COMMANDS = '''import typer

app = typer.Typer()


@app.command()
def ingest(folder: str = typer.Option("docs", "--folder")) -> None:
    print(folder)


@app.command("serve-api")
def serve(port: int = typer.Option(..., "--port")) -> None:
    print(port)


@app.command()
def re_embed(
    collection: str = typer.Option(..., "--collection"),
) -> None:
    print(collection)


if __name__ == "__main__":
    app()
'''


def test_a_typer_apps_other_commands_require_none_of_their_options():
    # `python cli.py ingest` runs ingest alone: serve-api's `--port` and re-embed's `--collection` are theirs, yet
    # scope refused the command for not giving them.
    assert read_contract("cli.py", COMMANDS, ("ingest",)).required_flags == ()
    assert read_contract("cli.py", COMMANDS, ("re-embed", "--collection", "c")).required_flags == ("--collection",)
    assert read_contract("cli.py", COMMANDS, ("serve-api",)).required_flags == ("--port",)


GROUP = '''import click


@click.group()
def cli():
    pass


@cli.command()
@click.option(
    "--folder",
    default="docs",
)
def embed(folder):
    print(folder)


@cli.command()
@click.option("--port", required=True, type=int)
def serve(port):
    print(port)
'''


def test_a_click_groups_other_commands_require_none_of_their_options():
    assert read_contract("cli.py", GROUP, ("embed",)).required_flags == ()
    assert read_contract("cli.py", GROUP, ("serve",)).required_flags == ("--port",)


def test_a_long_run_of_word_characters_is_read_in_linear_time():
    # typer's parameter pattern was tried at every letter of a run and backtracked over the rest of it: a Python file
    # holding 40,000 hex digits in one literal took 26 s to read (quadratic), and locate reads every file it imports.
    import time

    started = time.monotonic()
    read_contract("blob.py", 'BLOB = "' + "ab12" * 10_000 + '"\n')
    assert time.monotonic() - started < 5


def test_a_click_option_required_with_a_default_is_not_a_required_flag():
    # click takes the default of an option not given before it asks for the required one; argparse does not.
    src = '''import click


@click.command()
@click.option("--model", required=True, default="nomic-embed-text", show_default=True)
@click.option("--table", required=True)
def main(model, table):
    print(model, table)
'''
    c = read_contract("cli.py", src)
    assert c.required_flags == ("--table",) and dict(c.flag_defaults) == {"--model": "nomic-embed-text"}, c


def test_the_commands_of_a_typer_app_a_package_runs_require_only_the_given_commands_options(tmp_path):
    # `python -m kb ingest`: kb/__main__.py imports the app from kb/cli.py (no `__main__` guard there), whose serve
    # command requires --port; scope refused ingest for it.
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "__init__.py").write_text("")
    (tmp_path / "kb" / "__main__.py").write_text("from kb.cli import app\n\napp()\n")
    (tmp_path / "kb" / "cli.py").write_text(COMMANDS.replace('\n\nif __name__ == "__main__":\n    app()\n', "\n"))
    assert command_contract("python -m kb ingest", tmp_path).required_flags == ()
    assert command_contract("python -m kb serve-api", tmp_path).required_flags == ("--port",)


def test_a_typer_option_whose_type_holds_a_comma_is_read():
    # `Annotated[Union[str, None], ...]`: the type's comma ended the parameter's pattern before typer.Option, so the
    # option was not read (ingestr-like and pyhydrus-like CLIs: `Annotated[Optional[List[str]], typer.Option(...)]`)
    src = '''import typer
from typing import Annotated, Optional, Union

app = typer.Typer()


@app.command()
def main(
    name: Annotated[Union[str, None], typer.Option("--name")] = None,
    tags: Annotated[Optional[list[str]], typer.Option("--tag", "-t")] = None,
    table: Annotated[dict[str, str], typer.Option("--table")] = None,
) -> None:
    print(name, tags, table)
'''
    c = read_contract("cli.py", src)
    assert c.flags == ("--name", "--tag", "--table") and c.flag_aliases == (("-t", "--tag"),), c
    assert c.required_flags == ()


def test_a_typer_option_annotated_over_several_lines_is_read():
    # black's layout of a long Annotated parameter: its type, its typer.Option and its default on lines of their own
    src = '''import typer
from typing import Annotated

app = typer.Typer()


@app.command()
def ingest(
    source_uri: Annotated[
        str,
        typer.Option(
            help="where the rows are",
            envvar=["SOURCE_URI", "INGESTR_SOURCE_URI"],
        ),
    ],
    dest_uri: Annotated[
        str,
        typer.Option(help="where they go"),
    ],
    name: Annotated[
        str,
        typer.Option("--name", help="the collection"),
    ] = "docs",
) -> None:
    print(name, source_uri, dest_uri)
'''
    c = read_contract("cli.py", src)
    assert c.flags == ("--source-uri", "--dest-uri", "--name"), c.flags
    assert dict(c.flag_defaults) == {"--name": "docs"} and dict(c.flag_env) == {"--source-uri": "SOURCE_URI"}, c
    assert c.required_flags == ("--dest-uri",), c.required_flags
    assert {"SOURCE_URI", "INGESTR_SOURCE_URI"} <= set(c.reads_env), c.reads_env


BARE = '''import typer

app = typer.Typer()


@app.command()
def ingest(ctx: typer.Context, path: str, model: str = "nomic-embed-text", batch_size: int = 16,
           dry_run: bool = False) -> None:
    print(ctx, path, model, batch_size, dry_run)


def helper(folder: str, limit: int = 10) -> None:
    print(folder, limit)
'''


def test_a_typer_commands_bare_parameter_without_a_default_is_a_required_argument():
    # typer makes `path: str` of a command a required positional argument: scope passed a command not given it
    c = read_contract("cli.py", BARE)
    assert "path" in c.flags and c.required_flags == ("path",), (c.flags, c.required_flags)


def test_a_typer_commands_bare_parameter_with_a_default_is_an_option_with_that_default():
    c = read_contract("cli.py", BARE)
    assert c.flags == ("path", "--model", "--batch-size", "--dry-run"), c.flags
    assert dict(c.flag_defaults) == {"--model": "nomic-embed-text"}, c.flag_defaults


def test_the_parameters_of_a_function_typer_run_runs_are_read():
    src = '''import typer


def main(folder: str, model: str = "nomic-embed-text") -> None:
    print(folder, model)


if __name__ == "__main__":
    typer.run(main)
'''
    c = read_contract("embed.py", src)
    assert c.flags == ("folder", "--model") and c.required_flags == ("folder",), (c.flags, c.required_flags)


def test_the_bare_parameters_of_a_function_no_cli_runs_are_no_flags():
    assert "--limit" not in read_contract("cli.py", BARE).flags
    assert "folder" not in read_contract("cli.py", BARE).flags


def test_a_typer_option_of_a_type_alias_is_read():
    # `_OutputOption = Annotated[Path | None, typer.Option("--output", "-o")]`, then `output: _OutputOption = None`
    src = '''from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()

_Plan = Annotated[Path, typer.Option("--plan", help="the plan")]


@app.command()
def ingest(plan_path: _Plan, source: Annotated[Path, typer.Argument(help="the source")]) -> None:
    print(plan_path, source)
'''
    c = read_contract("cli.py", src)
    assert c.flags == ("--plan", "source") and c.required_flags == ("--plan", "source"), (c.flags, c.required_flags)


def test_a_typer_file_that_does_not_parse_is_read_by_its_pattern():
    # a Python 2 statement, a template's placeholder: no syntax tree, its typer options still read as before
    src = TYPER.replace("-> None:\n    print(meeting_id", "-> None:\n    print meeting_id, (meeting_id")
    c = read_contract("ingest.py", src)
    assert c.flags[:2] == ("--meeting-id", "--turns-path") and "--meeting-id" in c.required_flags, c.flags
