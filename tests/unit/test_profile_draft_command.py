"""The command a draft names is one scope would let run: given the profile's model by its model flag where it is not
told one, and what it still lacks of its required flags and arguments said (scope's rule, Contract.missing_flags)."""

from harness.locate.contract import command_contract
from harness.profile_draft import _drafted_command

TYPER = '''import typer

app = typer.Typer()


@app.command()
def main(
    meeting_id: str = typer.Option(..., "--meeting-id", "-m"),
    model: str = typer.Option(..., "--model"),
    folder: str = typer.Argument(...),
) -> None:
    print(meeting_id, model, folder)


if __name__ == "__main__":
    app()
'''


def test_a_command_not_given_its_required_flags_is_drafted_with_what_it_lacks(tmp_path):
    # Meeting-RAG-Local's `python -m scripts.ingest_embeddings`: drafted as it was, with no TODO, and scope refused it
    (tmp_path / "ingest.py").write_text(TYPER)
    command, _, missing = _drafted_command("python ingest.py", command_contract("python ingest.py", tmp_path),
                                           "all-minilm")
    assert command == "python ingest.py --model all-minilm" and missing == ("--meeting-id", "folder"), (command, missing)


def test_a_command_given_its_required_flags_lacks_none(tmp_path):
    (tmp_path / "ingest.py").write_text(TYPER)
    line = "python ingest.py docs -m a"
    assert _drafted_command(line, command_contract(line, tmp_path), "all-minilm")[2] == ()


def test_a_required_collection_flag_is_given_the_collection_the_command_writes(tmp_path):
    # the harness's own examples/ragapp/backfill_embeddings.py requires --collection: its profile gives `{collection}`;
    # the draft gives `{into}`, the collection run writes (the live one, or --into's)
    (tmp_path / "embed.py").write_text("import argparse\nap = argparse.ArgumentParser()\n"
                                       "ap.add_argument('--collection', required=True)\nap.parse_args()\n")
    command, told, missing = _drafted_command("python embed.py", command_contract("python embed.py", tmp_path), None)
    assert (command, missing) == ("python embed.py --collection {into}", ()), (command, missing)
    assert "--collection" in told, told
