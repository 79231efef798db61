"""Spring Boot applications: their ``application.yml``/``.properties`` (relaxed binding, ``${ENV:default}``
placeholders), the table Spring AI's ``PgVectorStore`` creates at start-up from them, and the runner that ingests."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from .contract import Contract, read_contract
from .distances import DistanceUse
from .entrypoints import Entrypoint
from .schema import VectorDeclaration

_APPLICATION = re.compile(r"(?:^|/)application(?:-[\w-]+)?\.(?:ya?ml|properties)$")
_PROFILE_SPECIFIC = re.compile(r"(?:^|/)application-[\w-]+\.(?:ya?ml|properties)$")
_BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")
# The artifacts that bring PgVectorStore (the starter, its auto-configuration, the store itself).
_PGVECTOR_ARTIFACT = re.compile(rb"spring-ai-(?:starter-vector-store-pgvector|pgvector-store|"
                                rb"autoconfigure-vector-store-pgvector)|spring-ai-pgvector-store-spring-boot-starter")
_PREFIX = "spring.ai.vectorstore.pgvector."
# PgVectorStore.PgDistanceType, as the enum's constants bind (case and dashes relaxed).
_DISTANCES = {"cosinedistance": "cosine", "euclideandistance": "l2", "negativeinnerproduct": "ip"}
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[^:}]+)(?::(?P<default>[^}]*))?\}")
_RUNNER = re.compile(r"\b(?:implements|:)\s*(?:[\w.]+\s*,\s*)*(?:org\.springframework\.boot\.)?"
                     r"(?P<kind>CommandLineRunner|ApplicationRunner)\b|\b(?:CommandLineRunner|ApplicationRunner)\s+\w+\s*\(")
# A vector store's add/accept (PgVectorStore.doAdd embeds what it is given) or an EmbeddingModel's embed.
_EMBEDS = re.compile(r"\b\w*(?:[sS]tore|[wW]riter)\s*\.\s*(?:add|accept|write)\s*\(|\b\w*[mM]odel\s*\.\s*embed\w*\s*\(")
# The environment names Spring Boot binds (relaxed) to the settings we give the command, whatever application.yml
# says: the environment wins over the file.
_DATASOURCE_ENV = ("SPRING_DATASOURCE_URL", "SPRING_DATASOURCE_USERNAME", "SPRING_DATASOURCE_PASSWORD")
# OllamaEmbeddingProperties binds embedding.model and embedding.options.model to one field, in the binder's order: the
# environment sets both, or the application file's options.model may be bound after ours.
_OLLAMA_ENV = ("SPRING_AI_OLLAMA_BASE_URL", "SPRING_AI_OLLAMA_EMBEDDING_MODEL", "SPRING_AI_OLLAMA_EMBEDDING_OPTIONS_MODEL")
_PGVECTOR_ENV = ("SPRING_AI_VECTORSTORE_PGVECTOR_DIMENSIONS",)
_OLLAMA_ARTIFACT = re.compile(rb"spring-ai-(?:starter-model-ollama|ollama\b|autoconfigure-model-ollama)")
_CLASS = re.compile(r"\b(?:class|object)\s+(?P<name>[A-Z]\w*)")
# The starters that bring an embedded web server (Tomcat, Netty, Jetty, Undertow): the application started keeps
# serving after its runners return, and `spring-boot:run` never exits.
_WEB_STARTER = re.compile(rb"spring-boot-starter-(?:web\w*|jetty|undertow|tomcat|reactor-netty)\b"
                          rb"|spring-ai-starter-mcp-server-web\w+")
# Told to start none: `spring.main.web-application-type: none` in its application file, or `WebApplicationType.NONE`
# in its code (SpringApplicationBuilder's `.web(...)`, `setWebApplicationType(...)`); or closed by its own code once
# its runners are done (`System.exit(SpringApplication.exit(context))`).
_NO_WEB_CODE = re.compile(rb"\bWebApplicationType\s*\.\s*NONE\b|\bSpringApplication\s*\.\s*exit\s*\(")


@dataclass(frozen=True)
class Property:
    value: str | None  # the placeholder's default where the value is ``${ENV:default}``
    line: int
    env: str | None = None  # the environment variable a ``${ENV...}`` placeholder reads first


def is_application_config(rel: str) -> bool:
    """An application file Spring Boot reads at start-up: on the classpath (``src/main/resources``, its ``config/``)
    or in a module's folder, never another source set's (``src/integrationTest/resources``)."""
    if not _APPLICATION.search(rel):
        return False
    folder = PurePosixPath(rel).parent.parts
    folder = folder[:-1] if folder[-1:] == ("config",) else folder
    return "src" not in folder or folder[-3:] == ("src", "main", "resources")


def relaxed(key: str) -> str:
    """A property name as Spring's relaxed binding compares it: lower case, no dashes or underscores."""
    return re.sub(r"[-_]", "", key.lower())


def properties(rel: str, text: str) -> dict[str, Property]:
    """The file's properties by relaxed name, each with its line (the leaf key's) and placeholder."""
    found: dict[str, Property] = {}
    if rel.endswith(".properties"):
        document: dict[str, Property] = {}
        for number, raw in enumerate([*text.splitlines(), "#---"], 1):
            line = raw.strip()
            if line in ("#---", "!---"):  # a multi-document file's separator
                if not _on_profile(document):
                    found.update(document)
                document = {}
                continue
            if not line or line[0] in "#!":
                continue
            m = re.match(r"([^=:\s]+)\s*[=:]\s*(.*)$", line)
            if m:
                document[relaxed(m.group(1))] = _property(m.group(2).strip(), number)
        return found
    try:
        documents = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
    except yaml.YAMLError:
        return found
    lines = text.splitlines()
    for document in documents:
        flat = {relaxed(key): (key, value) for key, value in _flatten(document, "")}
        if _on_profile(flat):
            continue
        for key, value in flat.values():
            leaf = key.rsplit(".", 1)[-1]
            number = next((i for i, line in enumerate(lines, 1) if re.match(rf"\s*{re.escape(leaf)}\s*:", line)), 1)
            found[relaxed(key)] = _property(None if value is None else str(value), number)
    return found


def _on_profile(document: Mapping[str, object]) -> bool:
    """A document that applies only under a Spring profile (``spring.config.activate.on-profile``, or the older
    ``spring.profiles``): the application started without that profile never reads it."""
    return any(k in document for k in ("spring.config.activate.onprofile", "spring.profiles"))


def _flatten(node: dict, prefix: str):
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _property(value: str | None, line: int) -> Property:
    m = _PLACEHOLDER.fullmatch(value or "")
    if m:
        return Property(m.group("default"), line, m.group("name"))
    return Property(value, line)


def brings_pgvector_store(name: str, data: bytes) -> bool:
    """A Maven or Gradle build file that depends on Spring AI's PgVectorStore."""
    return name in _BUILD_FILES and bool(_PGVECTOR_ARTIFACT.search(data))


def pgvector_store(found: dict[str, dict[str, Property]], *, depends: bool) -> tuple[VectorDeclaration, DistanceUse] | None:
    """The ``vector_store`` table PgVectorStore creates (its ``embedding vector(N)`` and the distance it queries with),
    from the first application file that configures it, or from its defaults when only the build brings it."""
    key = relaxed(_PREFIX)
    rel, props, ordered = _store_file(found)
    if rel is None:
        if not depends:
            return None
        rel = next((r for r, _ in ordered), "")
    if not rel:
        return None

    def get(name: str) -> Property | None:
        return props.get(key + relaxed(name))

    def value(name: str) -> str | None:
        found = get(name)
        return found.value if found else None

    table = value("table-name") or "vector_store"
    schema = value("schema-name") or "public"
    dims = get("dimensions")
    dimensions = int(dims.value) if dims and dims.value and dims.value.strip().isdigit() and int(dims.value) > 0 else None
    said = get("distance-type")
    distance = _DISTANCES.get(relaxed(said.value or "")) if said else "cosine"
    if distance is None:
        return None  # a distance type PgVectorStore does not know: the application would not start
    line = min((p.line for k, p in props.items() if k.startswith(key)), default=1)
    qualified = table if schema == "public" else f"{schema}.{table}"
    declaration = VectorDeclaration(rel, dims.line if dims else line, dimensions, "spring-ai-pgvector", qualified,
                                    "embedding", distance=distance, dims_env=dims.env if dims else None)
    use = DistanceUse(rel, said.line if said else line, distance, "spring-ai-pgvector", qualified, "embedding",
                      said.value if said and said.value else "COSINE_DISTANCE (PgVectorStore's default)")
    return declaration, use


def _store_file(found: dict[str, dict[str, Property]]):
    """The first application file that configures PgVectorStore and its properties (None, {} when none does), and the
    files in the order Spring reads them: the base application.yml/.properties before a profile's."""
    key = relaxed(_PREFIX)
    ordered = sorted(found.items(), key=lambda item: bool(_PROFILE_SPECIFIC.search(item[0])))
    rel, props = next(((r, p) for r, p in ordered if any(k.startswith(key) for k in p)), (None, {}))
    return rel, props, ordered


def drops_store(found: dict[str, dict[str, Property]], table: str) -> str:
    """Why starting the application empties ``table`` ("" when it does not): PgVectorStore's
    ``remove-existing-vector-store-table`` drops it before creating it again, every stored row and key with it."""
    rel, props, _ = _store_file(found)
    said = props.get(relaxed(_PREFIX + "remove-existing-vector-store-table"))
    if rel is None or said is None or (said.value or "").strip().lower() != "true":
        return ""
    return (f"it drops {table} and creates it empty at each start "
            f"(remove-existing-vector-store-table: true at {rel}:{said.line})")


def runner(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    """A ``CommandLineRunner``/``ApplicationRunner`` of a Spring Boot module: it runs when the application starts, so its
    command is the build tool's ``spring-boot:run``/``bootRun`` from the module's folder."""
    if not rel.endswith((".java", ".kt")) or b"Runner" not in data:
        return None
    text = data.decode("utf-8", "replace")
    if not _RUNNER.search(text):
        return None
    module = _module(root, PurePosixPath(rel))
    if module is None:
        return None
    folder, build = module
    cls = _CLASS.search(text)
    here = root / folder
    if build == "pom.xml":
        wrapper = _wrapper(root, folder, "mvnw")
        command = f"{wrapper} spring-boot:run" if wrapper else "mvn spring-boot:run"
    else:
        wrapper = _wrapper(root, folder, "gradlew")
        command = f"{wrapper} bootRun" if wrapper else "gradle bootRun"
    build_text = (here / build).read_bytes()
    reads = (*_DATASOURCE_ENV, *(_OLLAMA_ENV if _OLLAMA_ARTIFACT.search(build_text) else ()),
             *(_PGVECTOR_ENV if _PGVECTOR_ARTIFACT.search(build_text) else ()))
    calls = tuple(f"{rel}:{text.count(chr(10), 0, m.start()) + 1} {m.group(0).rstrip('( ')}" for m in _EMBEDS.finditer(text))
    build_rel = f"{folder}/{build}" if folder else build
    # the runner writes through the PgVectorStore the build brings (its `add` inserts the rows it embeds)
    keeps = (build_rel,) if _PGVECTOR_ARTIFACT.search(build_text) else read_contract(rel, text).keeps
    contract = Contract(reads_env=reads, files=(rel, build_rel), embedding_calls=calls, keeps=keeps,
                        serves=web_server(here, build_rel, build_text))
    return Entrypoint(rel, "spring-boot-runner", cls.group("name") if cls else PurePosixPath(rel).stem, command,
                      workdir=folder or ".", contract=contract)


def web_server(module: Path, build_rel: str, build_text: bytes) -> str:
    """Why starting the module's application serves ("" when it runs its runners and exits): its build brings a web
    starter, and neither its application files nor its code say ``web-application-type`` NONE, nor does its code
    close the application (``SpringApplication.exit``)."""
    starter = _WEB_STARTER.search(build_text)
    if starter is None:
        return ""
    resources = module / "src" / "main" / "resources"
    for path in sorted([*resources.glob("application.*"), *resources.glob("config/application.*")]):
        rel = path.relative_to(module).as_posix()
        said = properties(rel, path.read_text("utf-8", "replace")).get(relaxed("spring.main.web-application-type"))
        if _APPLICATION.search(rel) and said is not None and (said.value or "").strip().lower() == "none":
            return ""
    for path in (p for folder in ("java", "kotlin") for p in sorted((module / "src" / "main" / folder).rglob("*"))):
        if path.suffix in (".java", ".kt") and _NO_WEB_CODE.search(path.read_bytes()):
            return ""
    line = build_text.count(b"\n", 0, starter.start()) + 1
    return f"it starts a web server ({starter.group(0).decode()} at {build_rel}:{line}) and never exits"


def _wrapper(root: Path, folder: str, name: str) -> str | None:
    """The nearest build wrapper at or above the module's folder, as the command run from that folder names it
    (a multi-module build keeps one at its root: ``../mvnw``)."""
    here = PurePosixPath(folder or ".")
    for up, parent in enumerate((here, *here.parents)):
        if (root / parent / name).is_file():
            return "./" + name if up == 0 else "../" * up + name
    return None


def _module(root: Path, p: PurePosixPath) -> tuple[str, str] | None:
    """The nearest folder above the source file with a Maven or Gradle build file, and that file's name."""
    for parent in p.parents:
        for build in _BUILD_FILES:
            if (root / parent / build).is_file():
                return ("" if str(parent) == "." else str(parent)), build
    return None
