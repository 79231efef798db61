"""Go applications: the `package main` commands `go run` runs, and langchaingo's embedders with the model each is
made with (a literal, or the config field a struct literal or an assignment in the same file gives one)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from .embedding_calls import EmbeddingCall
from .entrypoints import _BACKFILLISH, _SECONDARY, Entrypoint
from .literals import call_args, line_of

_PACKAGE_MAIN = re.compile(rb"(?m)^package\s+main\s*$")
_FUNC_MAIN = re.compile(rb"(?m)^func\s+main\s*\(\s*\)")
# langchaingo's providers: `ollama.New(ollama.WithModel(m))`, `openai.New(openai.WithEmbeddingModel(m))`.
_NEW = re.compile(r"\b(?P<pkg>ollama|openai)\s*\.\s*New\s*\(")
_LANGCHAINGO = re.compile(r'"github\.com/tmc/langchaingo/(?:llms|embeddings)/')
# The LLM is an embedder where the file embeds with it (CreateEmbedding, embeddings.NewEmbedder) or names an
# embedder type; a provider made for chat alone (`ollama.New(ollama.WithModel("llama2"))`) is none.
_EMBEDS = re.compile(r"\bCreateEmbedding\b|\bembeddings\s*\.\s*NewEmbedder\b|\bEmbedder\b")
_OPTION = r"\b{pkg}\s*\.\s*{option}\s*\(\s*(?P<arg>[^()]*?)\s*\)"
_LITERAL = re.compile(r'^"(?P<s>[^"\n]*)"$|^`(?P<r>[^`]*)`$')


def entrypoint(rel: str, data: bytes) -> Entrypoint | None:
    """A `package main` file with `func main()` whose folder or name says it backfills or ingests (as a Python
    script's must): its folder's command, `go run ./folder`. Any other (a server, a chat loop on stdin) is none."""
    if not rel.endswith(".go") or rel.endswith("_test.go") or not (_PACKAGE_MAIN.search(data) and _FUNC_MAIN.search(data)):
        return None
    folder = str(PurePosixPath(rel).parent)
    if not _BACKFILLISH.search(rel) and not _SECONDARY.search(rel):
        return None
    return Entrypoint(rel, "go-main", folder, "go run ." if folder == "." else f"go run ./{folder}")


def embedding_calls(rel: str, text: str) -> list[EmbeddingCall]:
    """langchaingo providers made in a file that embeds with them, each with its model and server URL."""
    if not _LANGCHAINGO.search(text) or not _EMBEDS.search(text):
        return []
    found = []
    for m in _NEW.finditer(text):
        pkg, args = m.group("pkg"), call_args(text, m.end() - 1)
        # options made beforehand (`modelOptions := ollama.WithModel(...)`) and passed as variables: the file's own
        args = args if re.search(rf"\b{pkg}\s*\.\s*With", args) else text
        model = (_option(text, args, pkg, "WithEmbeddingModel") or _option(text, args, pkg, "WithModel"))
        url = _option(text, args, pkg, "WithServerURL" if pkg == "ollama" else "WithBaseURL")
        found.append(EmbeddingCall(rel, line_of(text, m.start()), "ollama-client" if pkg == "ollama" else "openai",
                                   f"langchaingo {pkg}.New", model=model, url=url))
    return found


def _option(text: str, args: str, pkg: str, option: str) -> str | None:
    """The option's argument: a string literal, or the literal the file gives the field it names (`config.Model`:
    `Model: "..."` in a struct literal or `config.Model = "..."`), where every such literal agrees."""
    m = re.search(_OPTION.format(pkg=pkg, option=option), args)
    if m is None:
        return None
    arg = m.group("arg")
    if lit := _LITERAL.match(arg):
        return lit.group("s") if lit.group("s") is not None else lit.group("r")
    field = re.fullmatch(r"(?:\w+\s*\.\s*)*(?P<f>[A-Za-z_]\w*)", arg)
    if field is None:
        return None
    name = re.escape(field.group("f"))
    given = set(re.findall(rf'(?:^|[{{,\s]){name}\s*:\s*"([^"\n]*)"|\.{name}\s*=\s*"([^"\n]*)"', text, re.M))
    values = {a or b for a, b in given}
    return values.pop() if len(values) == 1 else None
