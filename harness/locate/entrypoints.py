"""Backfill entrypoints and the command that really runs each: npm/pnpm/yarn scripts from their package folder
(package manager from the lock files), make targets, Python scripts and modules, tsx/node scripts."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .config import kind_of
from .contract import Contract, contract_of_files, make_recipes
from .embedding_calls import has_calls

_MAIN = re.compile(rb"""if\s+__name__\s*==\s*['"]__main__['"]""")
# A name that says vectors are made, as `embed` does: `create-vectors.ts`, `vectors:create`, `generate_vectors` (not a
# `vector_store` module, nor `vectors` alone: a folder's or a table's name).
# Nor a name that says what it makes is the schema vectors are kept in (`create-vector-index`, `create_vector_extension`,
# `vectors:create-table`): DDL, no vector of any row.
_SCHEMA_OBJECT = r"(?![-_:]?(?:index(?:es)?|indices|idx|extensions?|tables?|columns?|schemas?|types?|migrations?)(?![a-z]))"
_MAKES_VECTORS = (rf"(?:create|build|generate|make|compute|update|refresh|upsert|fill|populate)[-_:]?vectors?(?![a-z])"
                  rf"{_SCHEMA_OBJECT}|(?<![a-z])vectors?[-_:](?:create|build|generate|make|compute|update|refresh|upsert"
                  rf"|fill|populate){_SCHEMA_OBJECT}")
_BACKFILLISH = re.compile(rf"backfill|embed|vectori[sz]e|reindex|ingest|{_MAKES_VECTORS}", re.I)
# Embed-on-ingest entrypoints: candidates, ranked below the backfills (and above them only by what they call).
_SECONDARY = re.compile(r"seed|ingest|populate|generate|index(?:ing|er)?\b|load[-_:]?(?:data|docs)", re.I)
# Tools that generate code or migrate a schema: a script that runs one is no backfill, whatever its name says.
_CODEGEN = re.compile(r"\bprisma\s+(?:generate|migrate|format|validate|studio)\b|\bdrizzle-kit\s+(?:generate|migrate|push|studio)\b"
                      r"|\bgraphql-codegen\b|\bopenapi-typescript\b|\b(?:sqlc|buf)\s+generate\b|\btsc\b"
                      # schema migration tools: TypeORM's, MikroORM's, knex's, Sequelize's CLIs
                      r"|\b(?:typeorm|mikro-orm)\S*\s+(?:migration|schema):|\bknex\s+migrate:|\bsequelize(?:-cli)?\s+db:migrate")
# Runners that run the script of the same name in every workspace package: the packages' own scripts are the
# entrypoints (each found, with its contract, in its package.json), never the root's delegating line.
_DELEGATES = re.compile(r"^\s*(?:turbo(?:\s+run)?|lerna\s+run|nx\s+run-many|(?:pnpm|yarn|npm)\s+(?:-r|--recursive|-ws|--workspaces|workspaces\s+(?:foreach\s+)?run)(?:\s+run)?)\s+\S")
# An evaluation's or benchmark's own code (cognee's `eval_framework/beam/local_ingest.py`): it loads the benchmark's
# data set into the application, whatever its name says, and re-embeds none of the application's rows.
_EVALUATION = re.compile(r"(?:^|/)(?P<folder>(?:[\w.-]*/)*?(?:evals?|evaluations?|eval_framework|evaluation_framework|benchmarks?|bench))/",
                         re.I)
# A library's examples of its own use, a folder at the repository's root (LightRAG's `examples/unofficial-sample/`):
# each runs on its own sample data (a book inserted into a fresh working folder), whatever its name says, and re-embeds
# none of a deployment's rows. Deeper, `example` is a package's name (Java's `com/example/`), not a folder of examples.
_EXAMPLE = re.compile(r"^(?:examples?|demos?|samples?)/(?:[\w.-]+/)*", re.I)
# Names that say the command re-embeds (not an ingest that may do more).
_STRONG = re.compile(rf"backfill|embed|vectori[sz]e|reindex|{_MAKES_VECTORS}", re.I)
# What a backfill named for its object fills when it fills vectors (`backfill_chunks`, `backfill-embeddings`); the other
# words of a name that say nothing of its object (`backfill.py`, `run_backfill`, `db:backfill:all`).
_EMBEDDING_OBJECT = re.compile(r"embed|vector|chunk|doc|passage|section|page|text|content|corpus|knowledge|memor|entr"
                               r"|node|item|record|article|post|message|note|search|index|rag|semantic|summar", re.I)
_NO_OBJECT = frozenset({"backfill", "backfills", "run", "runs", "script", "scripts", "py", "ts", "js", "mjs", "db", "job",
                        "jobs", "task", "tasks", "cmd", "main", "all", "once", "oneshot", "one", "shot", "cli", "data",
                        "the", "for", "new", "missing", "old", "start", "bin", "src", "lib", "tools", "manage"})
_SCRIPTISH = re.compile(rf"backfill|re-?embed|embed[-_]?(?:all|corpus|docs|documents|chunks)|vectori[sz]e|reindex"
                        rf"|{_MAKES_VECTORS}", re.I)
# A flag that takes a question (OWASP Nest's ``ai_run_agentic_rag --query``): the command embeds it to search.
_QUESTION = re.compile(r"^--(?:query|question|prompt|ask|q)$")
_FORCED = re.compile(r"(?:^|[-_:\s])(?:refresh|force|rebuild|recompute|full|all)\b", re.I)
_LOCKS = (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("bun.lockb", "bun"), ("bun.lock", "bun"),
          ("package-lock.json", "npm"), ("npm-shrinkwrap.json", "npm"))


@dataclass(frozen=True)
class Entrypoint:
    path: str
    kind: str  # python-script / python-module / npm-script / make-target / script / console-script / django-command / rake-task / artisan-command / symfony-command / mix-task / go-main / cargo-bin
    name: str
    command: str
    workdir: str = "."  # where to run ``command``, relative to the repository
    runner: str | None = None  # the same from the repository root through the workspace's runner, if any
    package_manager: str | None = None
    contract: Contract | None = field(default=None, compare=False, hash=False)
    # it runs in another application than this repository (a Rails engine's, gem's or Discourse plugin's rake task,
    # loaded by the app that installs it): why, said beside it; never the backfill command drafted here
    host: str | None = None

    @property
    def score(self) -> int:
        text = f"{self.name} {self.path}".lower()
        calls = self.contract is not None and bool(self.contract.embedding_calls)
        # A forced mode (`--refresh`) wins over the same command's incremental one: a skip by the application's own
        # marker (a page's checksum) leaves the vectors of an earlier model, or of a text edited since, as they are.
        forced = bool(_FORCED.search(self.name)) or (self.contract is not None and any(
            _FORCED.search(f) for f in self.contract.given_flags))
        return (("backfill" in text) * 4 + ("embed" in text) * 2 + calls * 3 + forced
                + {"npm-script": 2, "make-target": 2, "django-command": 2, "rake-task": 2, "artisan-command": 2, "symfony-command": 2, "mix-task": 2,
                   "python-module": 1,
                   "console-script": 1}.get(self.kind, 0))

    @property
    def may_embed(self) -> bool:
        """False when nothing says it embeds (its name is no backfill's and its contract, read, calls no embedder), for
        an evaluation's or benchmark's code, and for a question answered (a RAG query: it embeds the question)."""
        if (self.evaluation or self.example or self.ingests_with_a_language_model or self.keeps_nothing
                or self.answers):
            return False
        if self.contract is not None and self.contract.missing and not _BACKFILLISH.search(f"{self.name} {self.path}"):
            # named only like a generator, seed or loader, and its code not in the repository to read (Mastra's root
            # `pnpx tsx ./integration-generator/index.ts`): nothing says it embeds
            return False
        if self.contract is None or not self.contract.known:
            return True
        if self.fills_something_else:
            # a call in the file it runs, not in a module that file imports: SurfSense's scripts all import the app's
            # configuration, which loads the embedder
            own = {self.path, *self.contract.files[:1]}
            return any(c.rsplit(":", 1)[0] in own for c in self.contract.embedding_calls)
        if _BACKFILLISH.search(f"{self.name} {self.path}"):
            return True
        return bool(self.contract.embedding_calls)

    @property
    def answers(self) -> str:
        """Why it answers a question ("" where it does not): its files search by distance and ask a language model (the
        contract's reason), or it takes the question as a flag (OWASP Nest's ``ai_run_agentic_rag --query``) and its
        name says no backfill. What it embeds is the question; it fills nothing."""
        if self.contract is None:
            return ""
        if self.contract.answers:
            return self.contract.answers
        flag = next((f for f in self.contract.flags if _QUESTION.match(f)), None)
        if flag is None or _STRONG.search(f"{self.name} {self.path}"):
            return ""
        return f"it takes a question ({flag}): what it embeds is a question, not a stored row"

    @property
    def fills_something_else(self) -> bool:
        """A backfill named for what it fills, and that is no embedding's (SurfSense's `backfill_image_artifacts.py`
        turns image rows into artifacts): only an embedder its own file calls says it embeds."""
        words = {w for w in re.split(r"[^a-z0-9]+", self.name.lower()) if w and not w.isdigit()}
        if "backfill" not in words and "backfills" not in words:
            return False
        named = words - _NO_OBJECT
        return bool(named) and not any(_EMBEDDING_OBJECT.match(w) or _BACKFILLISH.search(w) for w in named)

    @property
    def evaluation(self) -> str | None:
        """The evaluation or benchmark folder the entrypoint lives in (``app/eval_framework/``), if any."""
        m = _EVALUATION.match(self.path)
        return m.group("folder") + "/" if m else None

    @property
    def example(self) -> str | None:
        """The examples folder the entrypoint lives in (``examples/unofficial-sample/``), unless its name says it
        backfills: an example of the library's use on its own data."""
        m = _EXAMPLE.match(self.path)
        return m.group(0) if m and not _SCRIPTISH.search(f"{self.name} {PurePosixPath(self.path).name}") else None

    @property
    def keeps_nothing(self) -> bool:
        """Its files, read, embed and keep nothing (no database, store, request or file written, no database setting
        read): a demo of the embedder, which re-embeds no row."""
        c = self.contract
        return (c is not None and c.known and not c.engine and bool(c.embedding_calls) and not c.keeps
                and not any(kind_of(name) == "database" for name in (*c.reads_env, *c.given_env)))

    @property
    def ingests_with_a_language_model(self) -> tuple[str, ...]:
        """The language model settings an ingest, seed or loader reads (cognee's examples running `cognify`): it
        extracts or summarises with that model, rewriting what it embeds: no re-embedding of the rows there are. A
        command named like a backfill, or one whose own files call an embedder, is judged as before."""
        text = f"{self.name} {self.path}"
        if (self.contract is None or not self.contract.known or self.contract.embedding_calls
                or _STRONG.search(text) or not _SECONDARY.search(text)):
            return ()
        return self.contract.language_model_settings()

    @property
    def env(self) -> tuple[str, ...]:
        """The environment variables the entrypoint reads (from its contract)."""
        return self.contract.reads_env if self.contract is not None else ()

    def as_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k != "contract" and (k != "host" or v)}
        data["contract"] = self.contract.as_dict() if self.contract else None
        data["may_embed"] = self.may_embed
        return data


def package_manager(root: Path, folder: Path) -> str:
    """The package manager of a JS project: the lock file nearest to the folder, else package.json's
    ``packageManager``, else npm."""
    for parent in [folder, *folder.parents]:
        for lock, pm in _LOCKS:
            if (parent / lock).exists():
                return pm
        try:
            declared = json.loads((parent / "package.json").read_text(encoding="utf-8")).get("packageManager")
        except (OSError, ValueError, AttributeError):
            declared = None
        if isinstance(declared, str) and declared.split("@")[0] in ("pnpm", "yarn", "npm", "bun"):
            return declared.split("@")[0]
        if parent == root or (parent / "pnpm-workspace.yaml").exists():
            if (parent / "pnpm-workspace.yaml").exists():
                return "pnpm"
            if parent == root:
                break
    return "npm"


def npm_scripts(root: Path, rel: str, data: bytes, terms: tuple[str, ...]) -> list[Entrypoint]:
    try:
        package = json.loads(data)
        scripts = package.get("scripts") or {}
    except (ValueError, AttributeError):
        return []
    folder = PurePosixPath(rel).parent
    workdir = str(folder)
    pm = package_manager(root, root / workdir)
    name = package.get("name") if isinstance(package.get("name"), str) else None
    found = []
    seed = (package.get("prisma") or {}).get("seed") if isinstance(package.get("prisma"), dict) else None
    if isinstance(seed, str):  # `prisma db seed` runs package.json's prisma.seed
        runner = {"pnpm": "pnpm exec", "yarn": "yarn", "bun": "bunx"}.get(pm, "npx")
        found.append(Entrypoint(rel, "prisma-seed", "prisma db seed", f"{runner} prisma db seed", workdir,
                                package_manager=pm))
    for script, body in scripts.items() if isinstance(scripts, dict) else ():
        text = f"{script} {body}"
        if not (_BACKFILLISH.search(text) or _SECONDARY.search(script) or any(t in text for t in terms)):
            continue
        if isinstance(body, str) and _CODEGEN.search(body) and not _BACKFILLISH.search(text):
            continue
        if isinstance(body, str) and _DELEGATES.match(body):
            continue
        command = f"{pm} run {script}"
        run_with = None
        if workdir != ".":
            run_with = {"pnpm": f"pnpm --filter {name or workdir} run {script}",
                      "yarn": f"yarn workspace {name} run {script}" if name else None,
                      "npm": f"npm run {script} --workspace {workdir}",
                      "bun": f"bun run --filter {name or workdir} {script}"}.get(pm)
        found.append(Entrypoint(rel, "npm-script", script, command, workdir, run_with, pm))
    return found


_PRINTS = re.compile(r"\s*[@+-]*\s*(?:echo|printf)\b(?![^\n]*(?:[|>;`]|\$\(shell|&&))")


def make_targets(rel: str, data: bytes, terms: tuple[str, ...]) -> list[Entrypoint]:
    text = data.decode("utf-8", "replace")
    workdir = str(PurePosixPath(rel).parent)
    found = []
    for target, recipe in make_recipes(text).items():
        # A line that only prints (LightRAG's `make help`: `@printf "... embedding ..."`) runs nothing it names.
        runs = [r for r in recipe if not _PRINTS.match(r)]
        if _BACKFILLISH.search(target) or any(_BACKFILLISH.search(r) or any(t in r for t in terms) for r in runs):
            command = f"make {target}" if workdir == "." else f"make -C {workdir} {target}"
            found.append(Entrypoint(rel, "make-target", target, f"make {target}", workdir,
                                    command if workdir != "." else None))
    return found


def script_entrypoint(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    if rel.endswith(".py"):
        if b"__main__" not in data and not rel.endswith("__main__.py") and "/management/commands/" not in rel:
            return None
    elif not rel.endswith((".ts", ".mts", ".js", ".mjs", ".cjs", ".sh")) or not _SCRIPTISH.search(rel):
        return None
    p = PurePosixPath(rel)
    if p.parent.name == "commands" and p.parent.parent.name == "management" and p.suffix == ".py":
        if (not _BACKFILLISH.search(p.stem) and not has_calls(data.decode("utf-8", "replace"))
                and not contract_of_files(root, [root / rel]).embedding_calls):
            # neither its name nor its code says it embeds (khoj's change_default_model does embed), nor what it
            # imports: OWASP Nest's ``ai_update_chapter_chunks`` is a subclass, the base class it imports embeds
            return None
        manage = next((q for q in p.parents if (root / q / "manage.py").is_file()), None)
        if manage is not None:
            return Entrypoint(rel, "django-command", p.stem, f"python manage.py {p.stem}", str(manage))
    if p.suffix == ".py" and _MAIN.search(data) or p.name == "__main__.py":
        action = writing_action(data.decode("utf-8", "replace"))
        if (not _BACKFILLISH.search(rel) and not _BACKFILLISH.search(p.parent.name) and not _SECONDARY.search(p.stem)
                and action is None):
            return None
        argument = f" {action}" if action else ""
        module = module_name(root, p)
        if module:
            top = _package_root(root, p)
            return Entrypoint(rel, "python-module", module, f"python -m {module}{argument}", top)
        return Entrypoint(rel, "python-script", p.stem, f"python {rel}{argument}")
    low = p.name.lower()
    if (p.suffix in (".ts", ".mts", ".js", ".mjs", ".cjs", ".sh") and _SCRIPTISH.search(low)
            and not re.search(r"test|spec|\.d\.ts$|config", low)):
        if p.suffix == ".sh":
            return Entrypoint(rel, "script", p.stem, f"sh {rel}")
        if only_declares(data.decode("utf-8", "replace")):
            return None  # a module (a store's class, named for what it stores into): running it does nothing
        return _js_script(root, rel, p.stem)
    return None


def _js_script(root: Path, rel: str, name: str, argument: str = "") -> Entrypoint:
    """A JS or TS file run from its package folder (node, or the package's tsx / ts-node), with ``argument`` after it."""
    p = PurePosixPath(rel)
    pkg = _package_folder(root, p)
    inside = str(p.relative_to(pkg)) if pkg != "." else rel
    run = f"{inside} {argument}".rstrip()
    if p.suffix in (".ts", ".mts"):
        pm = package_manager(root, root / pkg)
        tool = next((t for t in ("tsx", "ts-node") if _has_dependency(root, pkg, t)), None)
        runner = ({"pnpm": f"pnpm exec {tool}", "yarn": f"yarn {tool}", "bun": "bun"}.get(pm, f"npx {tool}")
                  if tool else "npx tsx")
        return Entrypoint(rel, "script", name, f"{runner} {run}", pkg, package_manager=pm)
    return Entrypoint(rel, "script", name, f"node {run}", pkg)


# A JS CLI of subcommands: commander's or yargs' `.command('name <arg>')`, parsed from the process's arguments.
_JS_CLI = re.compile(r"""(?:require\(\s*|from\s+)['"](?:commander|yargs)(?:/[\w/]+)?['"]""")
_JS_COMMAND = re.compile(r"""\.\s*command\s*\(\s*(?P<q>['"`])(?P<name>[\w:-]+)(?P<rest>[^'"`\n]*)(?P=q)""")


def js_subcommands(root: Path, rel: str, data: bytes) -> list[Entrypoint]:
    """The subcommands of a commander or yargs CLI whose name says they embed (`node index.js generate-embeddings`),
    each run through the CLI's file; one needing an argument (`<text>`) runs on what it is given, no stored row."""
    if not rel.endswith((".ts", ".mts", ".js", ".mjs", ".cjs")) or (b"commander" not in data and b"yargs" not in data):
        return []
    text = data.decode("utf-8", "replace")
    if not _JS_CLI.search(text) or ".parse" not in text:
        return []
    stem = PurePosixPath(rel).stem
    return [_js_script(root, rel, f"{stem} {m.group('name')}", m.group("name")) for m in _JS_COMMAND.finditer(text)
            if _BACKFILLISH.search(m.group("name")) and "<" not in m.group("rest")]


_WRITES = re.compile(r"\b(?:INSERT\s+INTO|UPDATE\s+\S+\s+SET|COPY\s+\S+\s+FROM)\b", re.I)


def writing_action(text: str) -> str | None:
    """The one action a module's ``__main__`` dispatches on (``if action == "build":``) whose branch reaches, through
    the module's own functions, an embedder call and a SQL write (pydantic-ai's ``rag.py build``; ``search`` only
    reads); None when there is no such dispatch, or several actions write."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    lines = _LINE.findall(text)  # split once: ast.get_source_segment splits the whole text again for each node

    def segment(node: ast.AST) -> str:
        return _source_segment(lines, node) or ""

    def called(nodes: list[ast.stmt]) -> set[str]:
        # every name a branch refers to: a function handed to a task group (``tg.start_soon(insert_doc_section, ...)``)
        # runs as surely as one called
        return {r.id if isinstance(r, ast.Name) else r.attr for n in nodes for r in ast.walk(n)
                if isinstance(r, (ast.Name, ast.Attribute))}

    def reached(nodes: list[ast.stmt]) -> str:
        seen, todo, code = set(), called(nodes), [segment(n) for n in nodes]
        while todo:
            name = todo.pop()
            if name in seen or name not in functions:
                continue
            seen.add(name)
            code.append(segment(functions[name]))
            todo |= called(functions[name].body)
        return "\n".join(code)

    mains = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in segment(n.test)]
    actions = [(branch.test.comparators[0].value, branch.body) for main in mains for branch in ast.walk(main)
               if isinstance(branch, ast.If) and isinstance(branch.test, ast.Compare)
               and isinstance(branch.test.ops[0], ast.Eq) and isinstance(branch.test.comparators[0], ast.Constant)
               and isinstance(branch.test.comparators[0].value, str) and branch.test.comparators[0].value != "__main__"]
    if not actions:
        return None  # most modules dispatch on nothing: their functions need not be collected
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    writing = [name for name, body in actions if _WRITES.search(code := reached(body)) and has_calls(code)]
    return writing[0] if len(writing) == 1 and re.fullmatch(r"[\w-]+", writing[0]) else None


# A line with its ending, split where ast.get_source_segment splits (\r\n, \r, \n; not str.splitlines' form feeds).
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _source_segment(lines: list[str], node: ast.AST) -> str | None:
    """ast.get_source_segment(text, node) from the text's lines split once (``_LINE``)."""
    try:
        if node.end_lineno is None or node.end_col_offset is None:  # type: ignore[attr-defined]
            return None
        first, last = node.lineno - 1, node.end_lineno - 1  # type: ignore[attr-defined]
        start, end = node.col_offset, node.end_col_offset  # type: ignore[attr-defined]
    except AttributeError:
        return None
    if first == last:
        return lines[first].encode()[start:end].decode()  # the offsets count UTF-8 bytes
    return "".join([lines[first].encode()[start:].decode(), *lines[first + 1:last], lines[last].encode()[:end].decode()])


_RAKE_NAMESPACE = re.compile(r"""^(?P<i>[ \t]*)namespace\s*\(?\s*[:'"](?P<n>[\w-]+)""")
_RAKE_TASK = re.compile(r"""^(?P<i>[ \t]*)task\s*\(?\s*(?::(?P<a>\w+)|['"](?P<b>[\w:-]+)['"]|(?P<c>\w+):\s*)""")
_RUBY_END = re.compile(r"^(?P<i>[ \t]*)end\b")


def rake_tasks(root: Path, rel: str, data: bytes) -> list[Entrypoint]:
    """The tasks of a ``.rake`` file that embed (named like a backfill, or whose body vectorizes or calls an embedder),
    each as ``bin/rails NAMESPACE:TASK`` (``bundle exec rake`` without ``bin/rails``) from the folder of the Rakefile."""
    text = data.decode("utf-8", "replace")
    lines = text.splitlines()
    p = PurePosixPath(rel)
    folder = next((q for q in p.parents if (root / q / "Rakefile").is_file()), None)
    host = None
    if folder is None:
        if "lib" not in p.parts[:-1]:
            return []
        # No Rakefile: the tasks of an engine, gem or plugin, run by the application that loads them.
        host = ("a task of a Rails engine, gem or plugin (no Rakefile in this repository): it runs in the application "
                "that installs it, with that application's database and settings")
        folder = PurePosixPath(".")
    runner = "bin/rails" if host or (root / folder / "bin" / "rails").is_file() else "bundle exec rake"
    found: list[Entrypoint] = []
    namespaces: list[tuple[int, str]] = []  # (indent, name) of the namespace blocks still open
    for number, line in enumerate(lines):
        if (end := _RUBY_END.match(line)) is not None:
            namespaces = [(i, n) for i, n in namespaces if i < len(end.group("i"))]
            continue
        if (ns := _RAKE_NAMESPACE.match(line)) is not None:
            namespaces.append((len(ns.group("i")), ns.group("n")))
            continue
        task = _RAKE_TASK.match(line)
        if task is None:
            continue
        indent = len(task.group("i"))
        name = ":".join([n for i, n in namespaces if i < indent] + [task.group("a") or task.group("b") or task.group("c")])
        body_end = next((k for k in range(number + 1, len(lines)) if (e := _RUBY_END.match(lines[k]))
                         and len(e.group("i")) == indent), len(lines))
        body = "\n".join(lines[number:body_end])
        if _BACKFILLISH.search(name) or _BACKFILLISH.search(body) or has_calls(body):
            found.append(Entrypoint(rel, "rake-task", name, f"{runner} {name}", str(folder), host=host))
    return found


# What a JS/TS module's top-level statements may start with and still run nothing when the file is run.
_DECLARATION = re.compile(r"(?:export\s+(?:default\s+)?)?(?:declare\s+)?(?:import\b|export\s*[{*]|(?:abstract\s+)?class\b"
                          r"|interface\b|type\b|enum\b|namespace\b|(?:async\s+)?function\b|(?:const|let|var)\b(?!.*\bawait\b)"
                          r"|module\.exports\b|exports\.|[}\])]|['\"]use strict['\"])")


def only_declares(text: str) -> bool:
    """Whether a JS/TS file's top level holds only imports, exports and declarations (a module, like a Python file
    without ``__main__``): no call, ``await`` or statement runs when the file itself is run."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("//")]
    return bool(lines) and all(_DECLARATION.match(line) for line in lines if not line[0].isspace())


def console_scripts(rel: str, data: bytes) -> list[Entrypoint]:
    """[project.scripts] / [tool.poetry.scripts] of a pyproject.toml whose name or target looks like a backfill."""
    import tomllib

    try:
        doc = tomllib.loads(data.decode("utf-8", "replace"))
    except ValueError:
        return []
    scripts = {**(doc.get("project", {}).get("scripts") or {}), **(doc.get("tool", {}).get("poetry", {}).get("scripts") or {})}
    workdir = str(PurePosixPath(rel).parent)
    return [Entrypoint(rel, "console-script", name, name, workdir) for name, target in scripts.items()
            if isinstance(target, str) and _BACKFILLISH.search(f"{name} {target}")]


def _has_dependency(root: Path, pkg: str, dep: str) -> bool:
    for folder in dict.fromkeys([root / pkg, root]):
        try:
            data = json.loads((folder / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if any(dep in (data.get(k) or {}) for k in ("dependencies", "devDependencies")):
            return True
    return False


def _package_folder(root: Path, p: PurePosixPath) -> str:
    for parent in p.parents:
        if (root / parent / "package.json").is_file():
            return str(parent)
    return "."


def _package_root(root: Path, p: PurePosixPath) -> str:
    parts = list(p.parent.parts)
    start = len(parts)
    while start > 0 and (root / Path(*parts[:start]) / "__init__.py").exists():
        start -= 1
    return str(PurePosixPath(*parts[:start])) if start else "."


def module_name(root: Path, p: PurePosixPath) -> str | None:
    """Dotted module path when the file sits in a package (folders with __init__.py up to the repo root)."""
    parts = list(p.parent.parts)
    if not parts or not (root / p.parent / "__init__.py").exists():
        return None
    start = len(parts)
    while start > 0 and (root / Path(*parts[:start]) / "__init__.py").exists():
        start -= 1
    package = parts[start:]
    if not package:
        return None
    return ".".join(package if p.name == "__main__.py" else [*package, p.stem])
