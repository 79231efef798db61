"""An argparse CLI of subcommands (`sub.add_parser("serve")`, `p.add_argument(...)`, `p.set_defaults(func=serve)`):
the command line runs one of them; another's flags are not its flags, and another's server is not started."""

from harness.locate.contract import command_contract, read_contract

CLI = '''import argparse
import os

import uvicorn


def serve(args):
    uvicorn.run("app:app", port=args.port)


def embed(args):
    print(args.model)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve")
    p_serve.add_argument("--port", type=int, required=True)
    p_serve.set_defaults(func=serve)
    p_embed = sub.add_parser("embed", help="backfill embeddings")
    p_embed.add_argument("--model", default=os.environ.get("EMBED_MODEL", "nomic-embed-text"))
    p_embed.set_defaults(func=embed)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
'''


def test_another_subparsers_server_is_not_started(tmp_path):
    """`python cli.py embed` was called a server: `serve`, set as the serve subparser's func, was read as called."""
    (tmp_path / "cli.py").write_text(CLI)
    assert command_contract("python cli.py --verbose embed", tmp_path).serves == ""
    assert command_contract("python cli.py serve --port 8000", tmp_path).serves == (
        "it starts a server (uvicorn.run at cli.py:8) and never exits")


def test_another_subparsers_flags_are_not_the_commands(tmp_path):
    """`python cli.py embed` was told it requires --port, the serve subparser's."""
    (tmp_path / "cli.py").write_text(CLI)
    embed = command_contract("python cli.py embed", tmp_path)
    assert embed.required_flags == () and embed.flags == ("--verbose", "--model"), embed
    assert command_contract("python cli.py serve --port 1", tmp_path).required_flags == ("--port",)
    assert read_contract("cli.py", CLI).required_flags == ("--port",)  # the file alone: all of them
