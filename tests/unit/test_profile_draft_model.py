"""The model a draft takes from the entrypoint's contract is a model's name, never a placeholder for an unknown one."""

from types import SimpleNamespace

from harness.locate.contract import Contract, command_contract
from harness.profile_draft import _model_flag, _with_flag, contract_models


def test_an_in_process_embedder_whose_model_locate_cannot_read_names_no_model_for_the_draft():
    """PrivateGPT's entrypoint reaches HuggingFaceEmbedding(model_name=settings...) among its embedders: its model is
    unknown ("?") or a variable ("$NAME"), which the draft must not write as provider.model."""
    entrypoint = SimpleNamespace(contract=Contract(in_process_models=("?", "$EMBEDDING_MODEL_PATH")))
    assert contract_models(entrypoint) == ()


def test_an_in_process_embedders_literal_model_is_named_for_the_draft():
    entrypoint = SimpleNamespace(contract=Contract(in_process_models=("?", "./models/all-MiniLM-L6-v2"),
                                                   reads_env=("DATABASE_URL",)))
    assert contract_models(entrypoint) == ("./models/all-MiniLM-L6-v2",)


def test_an_embedder_that_reaches_no_database_names_no_model_for_the_draft():
    """imara's PCA script embeds with all-MiniLM-L6-v2 into a .npy file: without --model the draft took its model for
    document_chunk's (3072 dimensions), which that script never fills."""
    entrypoint = SimpleNamespace(contract=Contract(in_process_models=("all-MiniLM-L6-v2",), reads_env=("MLFLOW_HOST",)))
    assert contract_models(entrypoint) == ()


def test_a_model_flag_the_command_gives_by_its_short_name_is_not_given_again(tmp_path):
    """`python embed.py -m all-minilm` is told its model already: the draft appended `--model <profile's model>` as if
    it were not, leaving two model flags on the command line."""
    (tmp_path / "embed.py").write_text("import argparse\nap = argparse.ArgumentParser()\n"
                                       "ap.add_argument('-m', '--model', default='nomic-embed-text')\n")
    assert _model_flag(command_contract("python embed.py", tmp_path), "all-minilm") == "--model"
    assert _model_flag(command_contract("python embed.py -m all-minilm", tmp_path), "all-minilm") is None


def test_the_model_flag_is_given_to_an_npm_scripts_script_after_a_double_dash():
    """npm keeps a flag after the script's name for itself unless `--` comes first; pnpm and yarn pass it on."""
    assert _with_flag("npm run embed", "--model", "all-minilm") == "npm run embed -- --model all-minilm"
    assert _with_flag("npm run embed -- --batch 8", "--model", "all-minilm") == \
        "npm run embed -- --batch 8 --model all-minilm"
    assert _with_flag("pnpm run embed", "--model", "all-minilm") == "pnpm run embed --model all-minilm"
