"""Calls that embed text: Ollama's HTTP API and clients, OpenAI-style clients, sentence-transformers and the
LangChain / LlamaIndex embedding classes, with the model and URL each uses where they are literal."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import cast

from .js_modules import module_of, module_text
from .lexing import lex
from .literals import (EnvRead, call_args, constant, django_settings_module, dotenv_line, env_reads, finditer_where,
                       in_spans, line_of, split_args)
from .yaml_settings import SettingsFiles, keyword_path

# supabase-ai: Supabase Edge Runtime's built-in inference (``new Supabase.ai.Session('gte-small')``) runs the model in
# the Edge Function itself.
IN_PROCESS_KINDS = frozenset({"sentence-transformers", "fastembed", "transformers", "supabase-ai"})


@dataclass(frozen=True)
class EmbeddingCall:
    path: str
    line: int
    kind: str  # ollama-http / ollama-client / ollama-prism / prism / openai / openai-http / litellm / ollama-litellm / gemini / sentence-transformers / fastembed / transformers / supabase-ai / langchain / llamaindex / ollama-config / config / ollama-pgai / voyageai (pgai's worker)
    name: str  # what was called
    model: str | None = None  # literal model name (or the default of the env variable it reads)
    model_env: str | None = None  # the env variable the model comes from
    url: str | None = None
    url_env: str | None = None
    # the model as a key of an object another module of the repository exports: "src/config#default.model"
    model_from: str | None = field(default=None, compare=False)
    # The dimension the application asks of the model: Ollama's ``dimensions`` in the same call
    # (``OllamaEmbeddings({model, dimensions: 256})``, ``ollama.embed(..., dimensions=256)``: the model's vectors
    # truncated to it, Matryoshka), or a configuration file's beside the model (R2R's base_dimension, which it sends
    # as ``dimensions``); or the env it reads.
    dimensions: int | None = None
    dimensions_env: str | None = None
    # the URL as a field of a pydantic settings object made from a class of another module of the repository:
    # "quivr_api.models.settings#BrainSettings.ollama_api_base_url" (its environment variable, found there), or a
    # Django setting, "django#LOCAL_LLM_HOST" (its read in the settings module manage.py names)
    url_from: str | None = field(default=None, compare=False)
    # the task prefixes the library puts before each document and query it embeds, unless the call sets others
    # (langchain_community's OllamaEmbeddings: embed_instruction "passage: ", query_instruction "query: ")
    task_prefixes: tuple[str, ...] = field(default=(), compare=False)
    # the model and the URL as attribute paths of a settings object the application's YAML files fill
    # (PrivateGPT's ``settings.ollama.embedding_model``: ``("ollama", "embedding_model")``)
    model_setting: tuple[str, ...] = field(default=(), compare=False)
    url_setting: tuple[str, ...] = field(default=(), compare=False)
    # the library makes each newline of a text a space before embedding it, unless the call says otherwise
    # (LangChain.js's OpenAIEmbeddings and AzureOpenAIEmbeddings: `stripNewLines = true`)
    newlines_to_spaces: bool = field(default=False, compare=False)
    # "path:line" where the URL is said when not at the call: the client is made in another file and passed in
    # (ollama-ex's `Ollama.init()` in a LiveView, `Ollama.embed(client, ...)` in the embedder)
    url_at: str | None = field(default=None, compare=False)

    @property
    def in_process(self) -> bool:
        return self.kind in IN_PROCESS_KINDS

    @property
    def is_setting(self) -> bool:
        """A configuration file's setting naming the model (``.env``'s ``EMBEDDING_MODEL=...``, a YAML section): what
        an embedder reads, no call of its own."""
        return self.kind in ("config", "ollama-config")

    @property
    def is_ollama(self) -> bool:
        """An Ollama embedder: its HTTP API, its clients, or a library's Ollama class (``OllamaEmbeddings``,
        langchainrb's ``Langchain::LLM::Ollama``)."""
        return self.kind.startswith("ollama") or "Ollama" in self.name

    def as_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items()
                   if k not in ("model_from", "url_from", "task_prefixes", "model_setting", "url_setting",
                                "newlines_to_spaces", "url_at") or k == "url_at" and v},
                "in_process": self.in_process}


# What a file that embeds holds: words found by a substring search (many times quicker than one alternation of them
# all), or a call of an embeddings class or method.
_TRIGGER_WORDS = ("embed(", "embedMany", "embedContent", "batchEmbedContents", "@ai-sdk/", "/api/embed",
                  "embedding.create", "embeddings.create", "Embedding.create", "createEmbedding", "AutoEmbeddings",
                  "SentenceTransformer", "TextEmbedding", "ollama", "feature-extraction", "Supabase.ai.Session",
                  "/v1/embeddings", "Langchain::LLM::")
_TRIGGER_CALL = re.compile(r"Embeddings?\s*\(|\.embed(?:dings|_query|_documents|Query|Documents)?\s*\(")
# Ollama's endpoints end the URL (a query may follow): `/api/embed/index.js` is a file of the app's own routes.
# An interpolation may hold quotes of its own (`f"{url.rstrip('/')}/api/embed"`, `${URL.replace(/\/$/, "")}`): a brace
# pair on the line is one piece of the string, whatever it holds.
_IN_STRING = r"""(?:[^'"`\n{]|\{[^{}\n]*\})"""
_OLLAMA_HTTP = re.compile(r"""(?P<q>['"`])(?P<s>""" + _IN_STRING + r"""*?/api/embed(?:dings)?)(?:[?#][^'"`\n]*)?(?P=q)""")
# Something in the file that says the /api/embed it calls is Ollama's (not the application's own API).
_OLLAMA_HINT = re.compile(r"(?i)ollama|:11434")
_OPENAI_HTTP = re.compile(r"""(?P<q>['"`])(?P<s>""" + _IN_STRING + r"""*?/v1/embeddings)[^'"`\n]*(?P=q)""")
# openai>=1 (``client.embeddings.create``), openai<1 in Python (``openai.Embedding.create``) and openai@3 for Node
# (``new OpenAIApi(...).createEmbedding``): 2023's templates still run the older two.
_OPENAI = re.compile(r"""\b(?P<name>embeddings\s*\.\s*create|Embedding\s*\.\s*create|createEmbedding)\s*\(""")
_OPENAI_MODEL_KW = re.compile(r"""\b(?:model|engine|deployment_id)\s*[=:]\s*""")  # Azure's openai<1 names an engine
# A CrossEncoder (sentence-transformers' reranker) scores (query, passage) pairs and makes no vector: not listed.
_ST = re.compile(r"""\b(?P<name>SentenceTransformer|TextEmbedding)\s*\(""")
# Hugging Face transformers (Python) and transformers.js (@xenova/transformers, @huggingface/transformers): a
# feature-extraction pipeline is an embedder loaded in the process; a pipeline for another task embeds nothing. The
# task's name is transformers' own, so a call of any function with it first is one, the app's own wrapper included
# (chatgpt-your-files' ``usePipeline('feature-extraction', 'Supabase/gte-small')``, in a file importing only the hook).
_HF_PIPELINE = re.compile(r"""(?<![\w.$])(?P<name>[A-Za-z_$][\w$]*)\s*\(\s*(?:task\s*=\s*)?['"]feature-extraction['"]\s*,?""")
# chonkie's AutoEmbeddings picks the provider from the model's URI (`litellm://ollama/NAME`, `openai://NAME`) or loads a
# sentence-transformers model in process (a bare name): SurfSense's embedder, its model from EMBEDDING_MODEL.
_CHONKIE = re.compile(r"""\bAutoEmbeddings\s*\.\s*get_embeddings\s*\(""")
_CHONKIE_IMPORT = re.compile(r"""^\s*from\s+chonkie(?:\.\w+)*\s+import\b[^\n]*\bAutoEmbeddings\b""", re.M)
# LiteLLM's embedding functions, `litellm.embedding(...)` or imported by name: the model routes the provider
# (`ollama/NAME` is Ollama's NAME), `api_base` the URL.
_LITELLM = re.compile(r"""(?<![\w.])(?:(?P<mod>litellm)\s*\.\s*)?(?P<name>a?embedding)\s*\(""")
_LITELLM_IMPORT = re.compile(r"""^\s*(?:import\s+litellm\b|from\s+litellm\s+import\b(?P<names>[^\n]*))""", re.M)
# Google's Gemini SDKs: google.generativeai's `genai.embed_content(model=...)`, google-genai's
# `client.models.embed_content(model=...)`, in a file importing either.
_GEMINI = re.compile(r"""(?<![\w])(?:\w+\s*\.\s*)+(?P<name>embed_content)\s*\(""")
_GEMINI_IMPORT = re.compile(r"""^\s*(?:import\s+google\.generativeai\b|from\s+google\.(?:genai|generativeai)\b|"""
                            r"""from\s+google\s+import\s+[^\n]*\b(?:genai|generativeai)\b)""", re.M)
# Their JavaScript SDKs: @google/generative-ai's model object (`genAI.getGenerativeModel({ model })`, then
# `.embedContent(text)` or `.batchEmbedContents(...)`: the model where the object is made), @google/genai's
# `ai.models.embedContent({ model, contents })` (the model in the call). The client may come from another module of
# the app; a model object never asked to embed (a chat model) is no call.
_GEMINI_JS = re.compile(r"""(?<![\w$])(?P<recv>[A-Za-z_$][\w$]*)\s*\.\s*(?P<name>embedContent|batchEmbedContents)\s*\(""")
_GEMINI_JS_MODEL = r"""\b{recv}\s*=\s*(?:await\s+)?[\w$.]*\bgetGenerativeModel\s*\("""
_SUPABASE_AI = re.compile(r"""\bnew\s+Supabase\s*\.\s*ai\s*\.\s*Session\s*\(""")
_CLASS = re.compile(r"""(?<![\w.])(?:new\s+)?(?P<name>[A-Z]\w*Embeddings?)\s*\(""")
_OLLAMA_IMPORT = re.compile(r"""^\s*(?:from\s+ollama\s+import|import\s+ollama)|from\s+['"]ollama(?:/browser)?['"]|require\(\s*['"]ollama['"]\s*\)""", re.M)
_OLLAMA_CALL = re.compile(r"""\b(?P<name>\w+)\s*\.\s*(?P<fn>embed|embeddings)\s*\(""")
# Python's module functions imported by name (`from ollama import embed, generate`): the default client's, which
# reads OLLAMA_HOST; an `as` alias is the name called.
_OLLAMA_FROM_IMPORT = re.compile(r"""^[ \t]*from\s+ollama\s+import\s+(?P<names>\([^)]*\)|[^\n]+)""", re.M)
# Azure OpenAI embeds with the model its deployment serves: the deployment is the model's setting
# (``azureOpenAIApiDeploymentName`` in LangChain.js, ``azure_deployment`` / ``deployment`` in Python), where no model
# keyword follows it (a model keyword before it is found first): the model a call names is its model.
_MODEL_NAMES = r"(?:model|model_name|modelName|model_id|modelId|model_name_or_path)\s*[=:]"
_MODEL_KW = re.compile(rf"""\b(?:{_MODEL_NAMES}|(?:azureOpenAIApiDeploymentName|deploymentName|azure_deployment|deployment)"""
                       rf"""\s*[=:](?![\s\S]*\b{_MODEL_NAMES}))\s*""")
_URL_KW = re.compile(r"""\b(?:base_url|baseUrl|baseURL|host|url|api_base|endpoint|ollama_base_url|api_url)\s*[=:]\s*""")
_STRING_AT = re.compile(r"""(?P<q>['"`])(?P<s>[^'"`\n]*)(?P=q)""")
# A name or attribute path, then `or` / `||` / `??` and a literal: the literal is its default.
_OR_LITERAL = re.compile(r"""[A-Za-z_][\w.]*\s*(?:\bor\b|\|\||\?\?)\s*(?P<q>['"`])(?P<s>[^'"`\n]+)(?P=q)""")
# An attribute path of at least two names after self/this: `self.config.model`.
_CHAIN_AT = re.compile(r"""(?:self\.|this\.)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?![\w(])""")
_IDENT_AT = re.compile(r"""(?:self\.|this\.|settings\.|config\.|cfg\.)?(?P<id>[A-Za-z_]\w*)""")
_AI_SDK = re.compile(r"""\b(?P<name>embed|embedMany)\s*\(\s*\{""")
_AI_SDK_IMPORT = re.compile(r"""from\s+['"]ai['"]""")
# A provider package's embedding model, made once and passed around (formbricks' ``embeddingsModel =
# createAzure({...}).embedding(env.AI_AZURE_EMBEDDINGS_DEPLOYMENT_ID || "embeddings", {dimensions: 512})``).
_AI_SDK_PROVIDER = re.compile(r"""from\s+['"](?:@ai-sdk/[\w-]+|ollama-ai-provider(?:-v2)?)['"]""")
# The AI SDK's community Ollama provider (Mastra's docs name it): its default `ollama`, and `createOllama()` given no
# baseURL, post to this address and read no environment variable.
_AI_SDK_OLLAMA = re.compile(r"""\bimport\s+(?P<names>[^;'"]*?)\s+from\s+['"]ollama-ai-provider(?:-v2)?['"]""")
_AI_SDK_OLLAMA_URL = "http://127.0.0.1:11434/api"
_AI_SDK_FACTORY = re.compile(r"""\.(?P<name>embedding|textEmbeddingModel|textEmbedding|embeddingModel)\s*\(""")
_AI_SDK_MODEL = re.compile(r"""\.(?:embedding|textEmbeddingModel|textEmbedding|embeddingModel)\s*\(\s*['"](?P<m>[^'"]+)['"]""")
# Ruby: langchainrb's LLM classes (``Langchain::LLM::Ollama.new(url: ..., default_options: {embeddings_model_name:
# ...})``, what langchainrb_rails' ``vectorsearch`` embeds with), ruby-openai's ``client.embeddings(parameters: {model:
# ...})`` and RubyLLM's ``RubyLLM.embed(text, model: ...)``.
_RB_LANGCHAIN = re.compile(r"""\bLangchain::LLM::(?P<cls>\w+)\.new\s*\(""")
_RB_LANGCHAIN_MODEL = re.compile(r"""\b(?:embeddings_model_name|embedding_model)\s*:\s*""")
_RB_CHAT_MODEL = re.compile(r"""\b(?:chat_completion_model_name|completion_model_name|chat_model)\s*:""")
_RB_URL_KW = re.compile(r"""\b(?:url|uri_base|base_url|api_base)\s*:\s*""")
_RB_OPENAI = re.compile(r"""\.(?P<name>embeddings)\s*\(\s*parameters\s*:""")
_RB_LLM = re.compile(r"""\bRubyLLM\s*\.\s*(?P<name>embed)\s*\(""")
_SKIP_CLASSES = frozenset({"Embedding", "Embeddings", "BaseEmbedding", "TextEmbedding"})
# A model named by a library's enum member (LlamaIndex's ``model_type=OpenAIEmbeddingModelType.TEXT_EMBED_3_SMALL``):
# the member's value, as llama-index-embeddings-openai defines it.
_MODEL_ENUM = re.compile(r"""\b(?:model_type|model|model_name)\s*=\s*(?:[\w.]*\.)?\w*ModelType\.(?P<member>[A-Z0-9_]+)""")
# The model a library's class embeds with when the call names none, by the package it is imported from:
# langchain_community's OllamaEmbeddings declares `model: str = "llama2"` (langchain<0.2's `langchain.embeddings`
# re-exports it); langchain_ollama's requires a model, so none is said for it.
LIBRARY_DEFAULT_MODELS: dict[tuple[str | None, str], str] = {("langchain_community", "OllamaEmbeddings"): "llama2",
                          ("langchain", "OllamaEmbeddings"): "llama2"}
# What such a class puts before each document and each query it embeds, by keyword: langchain_community's
# OllamaEmbeddings embeds f"{embed_instruction}{text}" ("passage: ") and queries after query_instruction ("query: ").
LIBRARY_DEFAULT_PREFIXES: dict[tuple[str | None, str], tuple[tuple[str, str], ...]] = {
    (package, "OllamaEmbeddings"): (("embed_instruction", "passage: "), ("query_instruction", "query: "))
    for package in ("langchain_community", "langchain")}
# LangChain.js's OpenAI embedders (`@langchain/openai`, langchain<0.1's `langchain/embeddings/openai`) default to
# `stripNewLines = true`: each text is embedded with its newlines made spaces.
_STRIPS_NEWLINES = frozenset({"OpenAIEmbeddings", "AzureOpenAIEmbeddings"})
_STRIPS_NEWLINES_MODULE = re.compile(r"""['"](?:@langchain/openai|langchain/embeddings/openai)['"]""")
MODEL_ENUM_VALUES = {"TEXT_EMBED_3_SMALL": "text-embedding-3-small", "TEXT_EMBED_3_LARGE": "text-embedding-3-large",
                     "TEXT_EMBED_ADA_002": "text-embedding-ada-002"}


# A configuration file's section for the embedder (R2R's TOML `[embedding]`, `[completion_embedding]`; a YAML mapping
# `embedding:`): a header named like one, then its keys up to the next header (the next line indented no deeper).
_SECTION = re.compile(r"(?m)^[ \t]*\[\s*(?P<name>[\w.\-]*embed[\w.\-]*)\s*\]\s*(?:#.*)?$", re.I)
_SECTION_HEADER = re.compile(r"(?m)^[ \t]*\[")
_KEY = re.compile(r"""(?m)^[ \t]*(?P<key>[\w\-]+)[ \t]*=[ \t]*(?P<v>"[^"\n]*"|'[^'\n]*'|[\d_]+)[ \t]*(?:#.*)?$""")
_YAML_SECTION = re.compile(r"(?m)^(?P<indent>[ \t]*)(?P<name>[\w\-]*embed[\w\-]*):[ \t]*(?:#.*)?$", re.I)
_YAML_KEY = re.compile(r"""(?m)^[ \t]+(?P<key>[\w\-]+):[ \t]*(?P<v>"[^"\n]*"|'[^'\n]*'|[^\s#][^#\n]*?)[ \t]*(?:#.*)?$""")
_MODEL_KEYS = ("model", "base_model", "model_name", "embedding_model", "embed_model")
_DIMENSION_KEYS = ("dimension", "dimensions", "base_dimension", "dims", "embedding_dimension", "embedding_dim")


def _sections(rel: str, text: str) -> list[tuple[str, dict[str, tuple[str, int]]]]:
    """Each section named like an embedder with its keys: key -> (value unquoted, position)."""
    found = []
    if rel.lower().endswith((".yaml", ".yml")):
        for m in _YAML_SECTION.finditer(text):
            depth = len(m.group("indent").expandtabs())
            end = next((x.start() for x in re.finditer(r"(?m)^(?P<i>[ \t]*)\S", text[m.end():])
                        if len(x.group("i").expandtabs()) <= depth), len(text) - m.end()) + m.end()
            found.append((m.group("name"), {k.group("key").lower(): (k.group("v").strip("\"'"), k.start("key"))
                                            for k in _YAML_KEY.finditer(text, m.end(), end)}))
        return found
    for m in _SECTION.finditer(text):
        end = next((h.start() for h in _SECTION_HEADER.finditer(text, m.end())), len(text))
        found.append((f"[{m.group('name')}]", {k.group("key").lower(): (k.group("v").strip("\"'"), k.start("key"))
                                               for k in _KEY.finditer(text, m.end(), end)}))
    return found


# A dotenv file's block (lines between blank lines) that sets the embedder: its provider, model, endpoint and dimension
# side by side (cognee's `.env.template`: `#EMBEDDING_PROVIDER="ollama"`, `#EMBEDDING_MODEL="nomic-embed-text:latest"`,
# `#EMBEDDING_DIMENSIONS=768`). A template's commented lines count: they are the alternatives it offers, read by the
# application once uncommented. The chat model's names (`LLM_MODEL`) are not the embedder's.
_ENV_ROLE = {"model": re.compile(r"(?:^|_)EMBED(?:DING)?S?_MODEL(?:_NAME)?$"),
             "provider": re.compile(r"(?:^|_)EMBED(?:DING)?S?_PROVIDER$"),
             "dimensions": re.compile(r"(?:^|_)EMBED(?:DING)?S?_(?:DIMENSIONS?|DIMS?)$"),
             "url": re.compile(r"(?:^|_)EMBED(?:DING)?S?_(?:ENDPOINT|URL|BASE_URL|HOST|API_BASE)$")}


# LiteLLM's `ollama/NAME`, also inside chonkie's AutoEmbeddings URI (SurfSense's `litellm://ollama/nomic-embed-text`):
# Ollama's model NAME.
_OLLAMA_ROUTE = re.compile(r"(?i)^(?:litellm://)?ollama/(?P<m>.+)$")


def ollama_model(model: str) -> str | None:
    """The Ollama model a provider-routed model name names, or None where it names no Ollama model."""
    m = _OLLAMA_ROUTE.match(model.strip())
    return m.group("m") if m else None


# chonkie's `PROVIDER://NAME` (`openai://text-embedding-3-small`), LiteLLM's routes inside it (`litellm://openai/NAME`)
_CHONKIE_URI = re.compile(r"^(?:litellm://[\w-]+/|[\w-]+://)(?P<m>.+)$")


def chonkie_model(uri: str | None) -> str | None:
    """The model a chonkie AutoEmbeddings URI names (a bare name, a sentence-transformers model, as given)."""
    m = _CHONKIE_URI.match(uri.strip()) if uri else None
    return m.group("m") if m else uri


def _env_blocks(text: str) -> list[dict[str, tuple[str, str, int]]]:
    """Each block's settings by role: role -> (name, value unquoted, line)."""
    blocks: list[dict[str, tuple[str, str, int]]] = [{}]
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            blocks.append({})
            continue
        setting = dotenv_line(line)
        if setting is None:
            continue
        for role, pattern in _ENV_ROLE.items():
            if pattern.search(setting[0]) and role not in blocks[-1]:
                blocks[-1][role] = (setting[0], setting[1], number)
    return [b for b in blocks if b.get("model", ("", "", 0))[1]]


def _env_file_embedders(rel: str, text: str) -> list[EmbeddingCall]:
    found = []
    for block in _env_blocks(text):
        name, model, line = block["model"]
        provider = block.get("provider", ("", "", 0))[1]
        ollama = provider.lower() == "ollama" or ollama_model(model) is not None
        dims_name, dims, _ = block.get("dimensions", (None, "", 0))
        url = re.match(r"https?://[^/\s]+", block.get("url", ("", "", 0))[1])
        found.append(EmbeddingCall(rel, line, "ollama-config" if ollama else "config", name,
                                   model=ollama_model(model) or model,
                                   model_env=name, url=url.group(0) if url else None,
                                   url_env=block["url"][0] if url else None,
                                   dimensions=int(dims) if dims.isdigit() else None,
                                   dimensions_env=dims_name))
    return found


def config_sections(rel: str, text: str) -> list[EmbeddingCall]:
    """The embedder a configuration file's section names (``[embedding]`` with ``provider = "ollama"``,
    ``base_model``, ``base_dimension = 1_024``; the same keys under a YAML ``embedding:``; a dotenv block setting
    ``EMBEDDING_PROVIDER``, ``EMBEDDING_MODEL``, ``EMBEDDING_DIMENSIONS``): the model an embedding call that takes
    it from configuration uses. A LiteLLM-style ``ollama/NAME`` is Ollama's ``NAME``."""
    if posixpath.basename(rel).startswith(".env"):
        return _env_file_embedders(rel, text)
    if rel.endswith(".properties"):
        return _dotted_embedders(rel, text)
    found = []
    for name, keys in _sections(rel, text):
        model_key = next((k for k in _MODEL_KEYS if keys.get(k, ("", 0))[0]), None)
        if model_key is None:
            continue
        model, at = keys[model_key]
        provider = keys.get("provider", ("", 0))[0]
        ollama = (provider.lower() == "ollama" or ollama_model(model) is not None
                  or "ollama" in _yaml_parents(rel, text, at))
        dims = next((keys[k][0] for k in _DIMENSION_KEYS if re.fullmatch(r"[\d_]+", keys.get(k, ("", 0))[0])), None)
        found.append(EmbeddingCall(rel, line_of(text, at), "ollama-config" if ollama else "config",
                                   f"{name} {model_key}",
                                   model=ollama_model(model) or model,
                                   dimensions=int(dims.replace("_", "")) if dims else None))
    return found


_DOTTED = re.compile(r"(?m)^[ \t]*(?P<key>[\w.\-]*embed[\w.\-]*)[ \t]*[=:][ \t]*(?P<v>\S[^\n]*?)[ \t]*$", re.I)


def _dotted_embedders(rel: str, text: str) -> list[EmbeddingCall]:
    """A ``.properties`` file's embedding section as dotted keys (``spring.ai.ollama.embedding.model=NAME``): the
    section is the key's prefix, its provider a segment of it."""
    found = []
    for m in _DOTTED.finditer(text):
        *section, leaf = m.group("key").lower().split(".")
        if leaf.replace("-", "_") not in _MODEL_KEYS or not any("embed" in s for s in section):
            continue
        found.append(EmbeddingCall(rel, line_of(text, m.start("key")), "ollama-config" if "ollama" in section else "config",
                                   f"{'.'.join(section)} {leaf}", model=m.group("v").strip("\"'")))
    return found


def _yaml_parents(rel: str, text: str, at: int) -> tuple[str, ...]:
    """The keys a YAML key at ``at`` is nested under, lower-cased, nearest first: the provider a section sits under
    (Spring AI's ``spring.ai.ollama.embedding.model``) names its embedder as a ``provider:`` key would."""
    if not rel.lower().endswith((".yaml", ".yml")):
        return ()
    parents = []
    depth = len(text[text.rfind("\n", 0, at) + 1:at].expandtabs())
    for line in reversed(text[:at].splitlines()[:-1]):
        m = re.match(r"([ \t]*)([\w.-]+)\s*:\s*(?:#.*)?$", line)
        if m and len(m.group(1).expandtabs()) < depth:
            parents.append(m.group(2).lower())
            depth = len(m.group(1).expandtabs())
    return tuple(parents)


def has_calls(text: str) -> bool:
    return any(w in text for w in _TRIGGER_WORDS) or _TRIGGER_CALL.search(text) is not None


def scan(rel: str, text: str, lang: str) -> list[EmbeddingCall]:
    """Every embedding call of one source file."""
    if lang not in ("python", "js", "ruby", "php", "shell", "other"):
        return []
    reads = env_reads(text, lang)
    out: list[EmbeddingCall] = []
    seen_lines: set[tuple[int, str]] = set()

    def add(call: EmbeddingCall) -> None:
        if (call.line, call.kind) not in seen_lines:
            seen_lines.add((call.line, call.kind))
            out.append(call)

    for m in finditer_where(_OLLAMA_HTTP, text, "/api/embed"):
        url = m.group("s")
        endpoint = "/api/embeddings" if url.endswith("/api/embeddings") else "/api/embed"
        model = _nearby_model(text, m.start(), reads)
        if model == (None, None) and not _OLLAMA_HINT.search(text):
            continue  # no model sent and nothing Ollama about the file: another API under that path
        window = text[m.start(): m.start() + 600]
        add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-http", endpoint, *model,
                          *_url_of(url, text, m.start(), reads), None, *_dimensions(text, window, m.start(), reads)))
    for m in finditer_where(_OPENAI_HTTP, text, "/v1/embeddings"):
        add(EmbeddingCall(rel, line_of(text, m.start()), "openai-http", "/v1/embeddings",
                          *_nearby_model(text, m.start(), reads), *_url_of(m.group("s"), text, m.start(), reads)))
    for m in finditer_where(_OPENAI, text, "mbedding"):
        args = call_args(text, m.end() - 1)
        add(EmbeddingCall(rel, line_of(text, m.start()), "openai", re.sub(r"\s+", "", m.group("name")),
                          *_kw(text, args, m.end(), _OPENAI_MODEL_KW, reads), *_client_url(text, reads)))
    for m in finditer_where(_ST, text, "SentenceTransformer", "TextEmbedding"):
        if _is_definition(text, m.start()):
            continue
        args = call_args(text, m.end() - 1)
        model = _kw(text, args, m.end(), _MODEL_KW, reads)
        if model == (None, None):
            model = _positional(text, args, m.end(), reads)
        kind = "fastembed" if m.group("name") == "TextEmbedding" else "sentence-transformers"
        if kind == "fastembed" and "fastembed" not in text:
            continue
        add(EmbeddingCall(rel, line_of(text, m.start()), kind, m.group("name"), *model))
    for m in finditer_where(_HF_PIPELINE, text, "feature-extraction"):
        if _is_definition(text, m.start()):
            continue
        paren = text.index("(", m.start())
        args = call_args(text, paren)
        model = _kw(text, args, paren + 1, _MODEL_KW, reads)
        if model == (None, None) and m.group(0).rstrip().endswith(","):  # the model follows the task
            model = _positional(text, text[m.end():paren + 1 + len(args)], m.end(), reads)
        add(EmbeddingCall(rel, line_of(text, m.start()), "transformers", f"{m.group('name')}(feature-extraction)", *model))
    for m in _CHONKIE.finditer(text) if _CHONKIE_IMPORT.search(text) else ():
        args = call_args(text, m.end() - 1)
        uri, env = _positional(text, args, m.end(), reads)
        routed = ollama_model(uri) if uri else None
        add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-chonkie" if routed else "chonkie",
                          "AutoEmbeddings.get_embeddings", routed or chonkie_model(uri), env))
    for m in _GEMINI.finditer(text) if lang == "python" and _GEMINI_IMPORT.search(text) else ():
        args = call_args(text, m.end() - 1)
        add(EmbeddingCall(rel, line_of(text, m.start()), "gemini", m.group("name"),
                          *_kw(text, args, m.end(), _MODEL_KW, reads)))
    for m in finditer_where(_GEMINI_JS, text, "mbedContent") if lang == "js" else ():
        args = call_args(text, m.end() - 1)
        model = _kw(text, args, m.end(), _MODEL_KW, reads)
        made = re.search(_GEMINI_JS_MODEL.format(recv=re.escape(m.group("recv"))), text)
        if made:  # the model object the call is made on: its model where it is made
            model = _kw(text, call_args(text, made.end() - 1), made.end(), _MODEL_KW, reads)
        elif model == (None, None) and not re.search(r"""['"]@google/(?:genai|generative-ai)['"]""", text):
            continue  # neither a Gemini model object nor a Gemini SDK in the file: another library's method
        add(EmbeddingCall(rel, line_of(text, m.start()), "gemini", m.group("name"), *model))
    imported = {n for i in _LITELLM_IMPORT.finditer(text) for n in re.findall(r"\w+", i.group("names") or "")}
    for m in finditer_where(_LITELLM, text, "mbedding") if lang == "python" else ():
        if not (m.group("mod") and re.search(r"(?m)^\s*import\s+litellm\b", text)) and \
                not (not m.group("mod") and m.group("name") in imported) or _is_definition(text, m.start("name")):
            continue
        args = call_args(text, m.end() - 1)
        named, named_env = _kw(text, args, m.end(), _MODEL_KW, reads)
        routed = ollama_model(named) if named else None
        add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-litellm" if routed else "litellm", m.group("name"),
                          routed or named, named_env, *_kw(text, args, m.end(), _URL_KW, reads)))
    for m in finditer_where(_SUPABASE_AI, text, "Supabase"):
        args = call_args(text, m.end() - 1)
        add(EmbeddingCall(rel, line_of(text, m.start()), "supabase-ai", "Supabase.ai.Session",
                          *_positional(text, args, m.end(), reads)))
    if "ollama" in text and _OLLAMA_IMPORT.search(text):
        for m in _OLLAMA_CALL.finditer(text):
            args = call_args(text, m.end() - 1)
            host = _ollama_host(text, reads)
            add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-client", f"{m.group('name')}.{m.group('fn')}",
                              *_kw(text, args, m.end(), _MODEL_KW, reads), *host[:2],
                              None, *_dimensions(text, args, m.end(), reads), url_from=host[2]))
        for name in _ollama_functions(text) if lang == "python" else ():
            for m in re.finditer(rf"(?<![\w.])(?<!def ){re.escape(name)}\s*\(", text):
                args = call_args(text, m.end() - 1)
                host = _ollama_host(text, reads)
                add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-client", name,
                                  *_kw(text, args, m.end(), _MODEL_KW, reads), *host[:2],
                                  None, *_dimensions(text, args, m.end(), reads), url_from=host[2]))
    ollama_sdk = _ai_sdk_ollama(text, reads) if lang == "js" else None
    if lang == "js" and _AI_SDK_IMPORT.search(text):  # the Vercel AI SDK: embed({ model: openai.embedding("m") })
        for m in _AI_SDK.finditer(text):
            args = call_args(text, m.end() - 2)
            found = _AI_SDK_MODEL.search(args)
            via = ollama_sdk if ollama_sdk and found and _receiver(args, found.start()) in ollama_sdk[0] else None
            add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-ai-sdk" if via else "ai-sdk", m.group("name"),
                              found.group("m") if found else None, None, *(via[1] if via else (None, None))))
    if lang == "js" and _AI_SDK_PROVIDER.search(text):
        for m in _AI_SDK_FACTORY.finditer(text):
            first = split_args(call_args(text, m.end() - 1))
            model = _value(text, m.end() + first[0][0], reads) if first else (None, None)
            via = ollama_sdk if ollama_sdk and _receiver(text, m.start()) in ollama_sdk[0] else None
            add(EmbeddingCall(rel, line_of(text, m.start()), "ollama-ai-sdk" if via else "ai-sdk", m.group("name"),
                              *model, *(via[1] if via else (None, None))))
    if lang == "ruby":
        for m in _RB_LANGCHAIN.finditer(text):
            args = call_args(text, m.end() - 1)
            if not _RB_LANGCHAIN_MODEL.search(args) and _RB_CHAT_MODEL.search(args):
                continue  # an LLM made for chat only (its chat models named, no embeddings model)
            add(EmbeddingCall(rel, line_of(text, m.start()), "langchain", f"Langchain::LLM::{m.group('cls')}",
                              *_kw(text, args, m.end(), _RB_LANGCHAIN_MODEL, reads),
                              *_kw(text, args, m.end(), _RB_URL_KW, reads)))
        for m in _RB_OPENAI.finditer(text):
            paren = text.index("(", m.start())
            add(EmbeddingCall(rel, line_of(text, m.start()), "openai", m.group("name"),
                              *_kw(text, call_args(text, paren), paren + 1, _MODEL_KW, reads)))
        for m in _RB_LLM.finditer(text):
            args = call_args(text, m.end() - 1)
            add(EmbeddingCall(rel, line_of(text, m.start()), "ruby-llm", f"RubyLLM.{m.group('name')}",
                              *_kw(text, args, m.end(), _MODEL_KW, reads)))
    llama = bool(re.search(r"llama_index|llamaindex", text))
    own = _own_classes(rel, text)
    # Go has no classes: a `CreateEmbedding(` there is a method's call, definition or interface spec, never a
    # LangChain class made (langchaingo's providers are read in golang.py).
    for m in () if rel.endswith(".go") else finditer_where(_CLASS, text, "mbedding"):
        name = m.group("name")
        # A sparse embedder (fastembed's SparseTextEmbedding: BM25, SPLADE) makes term weights, never the dense
        # vector a vector column holds: its model is no candidate for that column.
        if name in _SKIP_CLASSES or _is_definition(text, m.start("name")) or name.startswith(("Base", "Mock", "Fake", "Sparse")):
            continue
        if name in own:  # the application's own class (a Django model `ChunkEmbedding(content=..., embedding=v)`)
            continue
        args = call_args(text, m.end() - 1)
        model = _kw(text, args, m.end(), _MODEL_KW, reads)
        if model == (None, None) and re.search(r"HuggingFace|SentenceTransformer|FastEmbed", name):
            model = _positional(text, args, m.end(), reads)
        if model == (None, None) and (member := _MODEL_ENUM.search(args)):
            model = (MODEL_ENUM_VALUES.get(member.group("member")), None)
        url = _kw(text, args, m.end(), _URL_KW, reads)
        if model == (None, None) and not _MODEL_KW.search(args) and lang == "python":
            model = (LIBRARY_DEFAULT_MODELS.get((_python_origin(text, name), name)), None)
        url_from = _settings_field(text, args) if url == (None, None) and lang == "python" else None
        defaults = LIBRARY_DEFAULT_PREFIXES.get((_python_origin(text, name), name), ()) if lang == "python" else ()
        prefixes = tuple(p for keyword, p in defaults if not re.search(rf"\b{keyword}\s*=", args))
        # LangChain's classes end in "Embeddings", LlamaIndex's in "Embedding".
        family = "llamaindex" if llama and not name.endswith("Embeddings") else "langchain"
        kind = "sentence-transformers" if re.search(r"HuggingFace(?!Inference|Endpoint|Hub)|SentenceTransformer|FastEmbed", name) else family
        origin = _imported_key(rel, text, args) if model == (None, None) and lang == "js" else None
        dims = _dimensions(text, args, m.end(), reads) if name.startswith("Ollama") else (None, None)
        model_setting = (keyword_path(text, args, m.start(), _MODEL_KW) if model == (None, None) and lang == "python"
                         else None)
        url_setting = keyword_path(text, args, m.start(), _URL_KW) if url == (None, None) and lang == "python" else None
        strips = (lang == "js" and name in _STRIPS_NEWLINES and bool(_STRIPS_NEWLINES_MODULE.search(text))
                  and not re.search(r"\bstripNewLines\s*:\s*false\b", args))
        add(EmbeddingCall(rel, line_of(text, m.start()), kind, name, *model, *url, model_from=origin,
                          dimensions=dims[0], dimensions_env=dims[1], url_from=url_from, task_prefixes=prefixes,
                          model_setting=model_setting or (), url_setting=url_setting or (), newlines_to_spaces=strips))
    return out


def with_yaml_settings(calls: list[EmbeddingCall], files: SettingsFiles) -> list[EmbeddingCall]:
    """Calls whose model or URL is an attribute of a settings object, with the value the repository's YAML files
    give that attribute's key path (else its settings class's default)."""
    out = []
    for c in calls:
        if c.model is None and c.model_env is None and c.model_setting:
            model, env = files.value(c.model_setting)
            c = replace(c, model=model, model_env=env)
        if c.url is None and c.url_env is None and c.url_setting:
            url, env = files.value(c.url_setting)
            c = replace(c, url=url, url_env=env)
        out.append(c)
    return out


def _python_origin(text: str, name: str) -> str | None:
    """The top-level package a Python file imports ``name`` from (``langchain_community``), if it does."""
    for m in _PY_IMPORT.finditer(text):
        if re.search(rf"\b{re.escape(name)}\b(?!\s+as\b)", m.group("names")):
            return m.group("mod").split(".", 1)[0]
    return None


def _settings_field(text: str, args: str) -> str | None:
    """``module#Class.field`` where the URL argument is ``obj.field`` and the file makes ``obj = Class()`` of a class it
    imports (a pydantic BaseSettings of the application's settings module: Quivr's ``settings.ollama_api_base_url``)."""
    m = re.search(r"""\b(?:base_url|baseUrl|host|url|api_base|endpoint)\s*=\s*(?P<obj>[A-Za-z_]\w*)\.(?P<attr>\w+)\s*(?:[,)]|$)""",
                  args)
    made = m and re.search(rf"(?m)^{re.escape(m.group('obj'))}\s*(?::[^=\n]+)?=\s*(?P<cls>[A-Z]\w*)\s*\(", text)
    if not (m and made):
        return None
    cls = made.group("cls")
    module = next((i.group("mod") for i in _PY_IMPORT.finditer(text)
                   if re.search(rf"\b{re.escape(cls)}\b(?!\s+as\b)", i.group("names"))), None)
    return f"{module}#{cls}.{m.group('attr')}" if module and not module.startswith(".") else None


def _settings_env(rel: str, ref: str, read: Callable[[str], str | None]) -> EnvRead | None:
    """The environment read of ``module#Class.field``: the module found beside the calling file's package root
    (``backend/api/`` + ``quivr_api/models/settings.py``), the field among those of that settings class."""
    from .literals import settings_fields

    module, target = ref.split("#", 1)
    cls, attr = target.split(".", 1)
    folders = posixpath.dirname(rel).split("/") if "/" in rel else []
    for depth in range(len(folders), -1, -1):
        base = "/".join(folders[:depth])
        for path in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"):
            text = read(posixpath.join(base, path) if base else path)
            if text is None:
                continue
            found = re.search(rf"(?m)^class\s+{re.escape(cls)}\s*\(", text)
            if not found:
                return None
            body = text.find("\n", found.end()) + 1  # the class's body: up to the next line at column 0
            after = re.search(r"(?m)^\S", text[body:]) if body else None
            end = body + after.start() if after else len(text)
            return next((r for r in settings_fields(text) if found.start() <= r.start < end
                         and re.match(rf"\s*{re.escape(attr)}\s*:", text[r.start:])), None)
    return None


# A relative module, or a path alias a tsconfig.json maps (`@/MODELS`; a package's name maps to nothing).
_JS_IMPORT_OF = (r"""\bimport\s+(?:(?P<default>{name})\b|\{{[^}}]*?\b(?:(?P<orig>\w+)\s+as\s+)?(?P<named>{name})\b[^}}]*\}})\s*from\s+['"](?P<spec>[^'"]+)['"]"""
                 # CommonJS: `const config = require('../config/ai')`, `const { config } = require(...)`
                 r"""|\b(?:const|let|var)\s+(?:(?P<rdefault>{name})\b|\{{[^}}]*?\b(?:(?P<rorig>\w+)\s*:\s*)?(?P<rnamed>{name})\b[^}}]*\}})"""
                 r"""\s*=\s*require\(\s*['"](?P<rspec>\.{{1,2}}/[^'"]+)['"]\s*\)""")


# `this.config.getEmbeddingModel()`: a method, called without arguments, of a field the constructor is given typed as a
# class (`constructor(private readonly config: EnvConfigService)`, NestJS's injection of the app's config service).
_METHOD_OF_FIELD = re.compile(r"(?:this\s*\.\s*)?(?P<field>[A-Za-z_$][\w$]*)\s*\.\s*(?P<method>[A-Za-z_$][\w$]*)\s*\(\s*\)"
                              r"\s*(?:[,}\n]|$)")
_TYPED_FIELD = r"""\b{field}\s*(?:[?!]\s*)?:\s*(?P<cls>[A-Z][\w$]*)\s*[,;)=]"""  # one way to split blanks


def _imported_key(rel: str, text: str, args: str) -> str | None:
    """``module#export.key`` where the model argument is ``NAME.key`` and NAME is imported from a module of the
    repository (``import config from './config.js'``: ``src/config#default.model``); ``module#export`` where it is
    NAME itself (``import { embeddingModel } from "@/MODELS"``: the constant that module exports);
    ``module#Class.method()`` where it is ``this.field.method()`` and the field is typed as a class that module exports
    (``src/config/env-config.service#EnvConfigService.getOpenAIEmbeddingModel()``)."""
    m = _MODEL_KW.search(args)
    if not m:
        return None
    call = _METHOD_OF_FIELD.match(args, m.end())
    typed = call and re.search(_TYPED_FIELD.format(field=re.escape(call.group("field"))), text)
    path = None if typed else re.match(r"([A-Za-z_$][\w$]*)(?:\.([A-Za-z_$][\w$]*))?\s*(?:[,}\n]|$)", args[m.end():])
    name = typed.group("cls") if typed else path.group(1) if path else None
    imp = name and re.search(_JS_IMPORT_OF.format(name=re.escape(name)), text)
    if not imp:
        return None
    module = module_of(rel, imp.group("spec") or imp.group("rspec"))
    export = "default" if imp.group("default") or imp.group("rdefault") else (
        imp.group("orig") or imp.group("named") or imp.group("rorig") or imp.group("rnamed"))
    if typed and call:
        return f"{module}#{export}.{call.group('method')}()"
    return f"{module}#{export}" + (f".{path.group(2)}" if path and path.group(2) else "")


def with_imported_models(calls: list[EmbeddingCall], read: Callable[[str], str | None]) -> list[EmbeddingCall]:
    """Calls whose model is a key of an object another JS/TS module of the repository exports, with its value (a
    literal, or an env read and its default); ``read`` gives a repository file's text, or None."""
    out = []
    for c in calls:
        if c.url is None and c.url_env is None and c.url_from:
            module, ref = c.url_from.split("#", 1)
            env = _django_setting_env(c.path, ref, read) if module == "django" else _settings_env(c.path, c.url_from, read)
            if env is not None:
                c = replace(c, url=env.default, url_env=env.name)
        if c.model is None and c.model_env is None and c.model_from:
            module, ref = c.model_from.split("#", 1)
            export, _, key = ref.partition(".")
            text = module_text(module, read)
            if text is not None:
                model = (_method_return(text, export, key[:-2]) if key.endswith("()") else
                         _exported_key(text, export, key) if key else _exported_constant(text, export))
                if model != (None, None):
                    c = replace(c, model=model[0], model_env=model[1])
        out.append(c)
    return out


def _exported_key(text: str, export: str, key: str) -> tuple[str | None, str | None]:
    """The value of ``key`` in the object literal a module exports (by name, or as its default)."""
    name: str | None = export
    opening: int | None = None
    if export == "default":
        default = re.search(r"(?m)^\s*(?:export\s+default|module\.exports\s*=)\s*(?P<name>[A-Za-z_$][\w$]*)\s*;?\s*$", text)
        name = default.group("name") if default else None
        inline = None if default else re.search(r"(?m)^\s*(?:export\s+default|module\.exports\s*=)\s*\{", text)
        opening = inline.end() - 1 if inline else None
    if name:
        obj = re.search(r"(?m)\b(?:const|let|var)\s+" + re.escape(name) + r"\s*(?::\s*[^={\n]+)?=\s*\{", text)
        opening = obj.end() - 1 if obj else None
    reads = env_reads(text, "js")
    if opening is None and name:
        # The name is what a validation made of the module's literal (`const { value } = schema.validate(config)`):
        # the object literal of the module that gives the key a value (a literal or an env read, not a schema's rule).
        for obj in re.finditer(r"(?m)\b(?:const|let|var)\s+[A-Za-z_$][\w$]*\s*(?::\s*[^={\n]+)?=\s*\{", text):
            value = _key_value(text, obj.end() - 1, key, reads)
            if value != (None, None):
                return value
        return None, None
    return _key_value(text, opening, key, reads) if opening is not None else (None, None)


def _method_return(text: str, cls: str, method: str) -> tuple[str | None, str | None]:
    """What the method ``method`` of the class ``cls`` the module defines returns: a literal, or an env read and its
    default (a NestJS config service's ``getModel() { return this.configService.get("EMBED_MODEL"); }``)."""
    # Read where comments and strings' contents are blanks (the same offsets): a template literal's text is no method.
    code, strings = lex(text, "js")
    parts, last = [], 0
    for start, end in strings:
        parts += [code[last:start], " " * (end - start)]
        last = end
    bare = "".join(parts) + code[last:]
    klass = re.search(r"\bclass\s+" + re.escape(cls) + r"\b[^{]*\{", bare)
    if not klass:
        return None, None
    body_start = klass.end() - 1
    body = call_args(bare, body_start, limit=100_000)
    # `[ \t]*`, not `\s*`: from each line's start, `\s*` ran over every blank line after it
    pattern = re.compile(r"(?m)^[ \t]*(?:(?:public|private|protected|static|async|override)\s+)*" + re.escape(method)
                         + r"\s*\(\s*\)\s*(?::\s*[^{\n]+)?\{")
    depth, at = 0, 0
    for found in pattern.finditer(body):  # the class's own member alone, not one of an object in another method
        depth += sum(body.count(c, at, found.start()) for c in "([{") - sum(body.count(c, at, found.start()) for c in ")]}")
        at = found.start()
        if depth == 0:
            opening = body_start + 1 + found.end() - 1
            returned = re.match(r"\s*return\s+", call_args(bare, opening, limit=4000))
            return _value(text, opening + 1 + returned.end(), env_reads(text, "js")) if returned else (None, None)
    return None, None


def _exported_constant(text: str, name: str) -> tuple[str | None, str | None]:
    """The value a module binds to the constant it exports as ``name`` (``export const name = "..."``, or a ``const``
    its ``export { name }`` names): a literal, or an env read and its default."""
    bound = re.search(r"(?m)^\s*(?:export\s+)?(?:const|let|var)\s+" + re.escape(name) + r"\s*(?::\s*[^=\n]+)?=\s*", text)
    return _value(text, bound.end(), env_reads(text, "js")) if bound else (None, None)


def _key_value(text: str, opening: int, key: str, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    """The value of ``key`` in the object literal opening at ``opening``."""
    body = call_args(text, opening, limit=4000)
    found = re.search(r"(?m)(?:^|[,{\s])" + re.escape(key) + r"""\s*:\s*""", body)
    return _value(text, opening + 1 + found.end(), reads) if found else (None, None)


_PY_IMPORT = re.compile(r"""^[ \t]*from\s+(?P<mod>[\w.]+)\s+import\s+(?P<names>\([^)]*\)|[^\n]+)""", re.M)
_JS_IMPORT = re.compile(r"""import\s+(?:type\s+)?(?P<names>[^;]*?)\s+from\s+['"](?P<mod>[^'"]+)['"]""")
# What every _JS_IMPORT holds, found at once where it is not (a Python file's every `import` read on to its end)
_JS_FROM = re.compile(r"""from\s+['"]""")
_CLASS_DEF = re.compile(r"""(?m)^\s*(?:export\s+)?(?:default\s+)?class\s+(?P<name>[A-Za-z_]\w*)(?P<bases>[^:{\n]*)""")


def _own_classes(rel: str, text: str) -> set[str]:
    """Names of classes the file defines or imports from the application itself (a relative module, or a Python
    module of the package the file is in): never a library's embedder, whatever they are named."""
    top = rel.split("/", 1)[0] if "/" in rel else ""
    # (a subclass of a library's embedder, `class MyEmbeddings(OllamaEmbeddings)`, still embeds)
    own = {m.group("name") for m in finditer_where(_CLASS_DEF, text, "class")
           if not re.search(r"Embeddings?\b", m.group("bases"))}
    for m in _PY_IMPORT.finditer(text):
        mod = m.group("mod")
        if mod.startswith(".") or (top and mod.split(".", 1)[0] == top):
            own |= set(re.findall(r"\b([A-Za-z_]\w*)\b(?!\s+as\b)", m.group("names").replace("import", " ")))
    for m in _JS_IMPORT.finditer(text) if _JS_FROM.search(text) else ():
        if m.group("mod").startswith((".", "@/", "~/")):
            own |= set(re.findall(r"[A-Za-z_$][\w$]*", m.group("names")))
    return own


def _is_definition(text: str, pos: int) -> bool:
    start = text.rfind("\n", 0, pos) + 1
    head = text[start:pos]
    return bool(re.search(r"\b(?:class|def|function|interface|type|import|from)\b", head))


def _value(text: str, at: int, reads: list[EnvRead], depth: int = 0) -> tuple[str | None, str | None]:
    """The literal or env read at position ``at``: (literal or env default, env name)."""
    env = in_spans(at, reads)
    if env is None:
        for r in reads:
            if r.start >= at and r.start - at < 40 and not re.sub(r"\b(?:int|Number|parseInt)\b", "", text[at:r.start]).strip("( ").strip():
                env = r
                break
    if env is not None:
        return env.default, env.name
    s = _STRING_AT.match(text, at)
    if s and "#{" in text[at:at + 300].split("\n", 1)[0]:
        return None, None  # a Ruby string that interpolates (`"https://host/#{ENV.fetch("ID", "")}/v1"`): no literal
    if s:
        return s.group("s"), None
    fallback = _OR_LITERAL.match(text, at)
    if fallback:  # `self.config.model or "nomic-embed-text"`: the value unless configured
        return fallback.group("s"), None
    ident = _IDENT_AT.match(text, at)
    chain = _CHAIN_AT.match(text, at)
    if chain and depth <= 5:  # an attribute path assigned as a whole (`self.config.model = ...`) before the call
        found = [(pos, rhs) for pos, rhs in _reaching(text, chain.group(0), at) if pos != at]
        if found:
            values = {_value(text, pos, reads, depth + 1) for pos, _ in found[:4]}
            if len(values) == 1 and (value := values.pop()) != (None, None):
                return value
    if ident:
        name = ident.group("id")
        found = [(pos, rhs) for pos, rhs in _reaching(text, name, at) if rhs != text[at:at + len(rhs)]]
        if found:
            if depth > 5:
                return None, None  # A = B, B = A
            values = {_value(text, pos, reads, depth + 1) for pos, rhs in found[:4]}
            if len(values) == 1:
                return values.pop()
            # Assigned differently by branch (a default per provider): the env name, if it is one, without a default.
            envs = {env for _, env in values}
            return (None, envs.pop()) if len(envs) == 1 else (None, None)
        if depth < 3 and (arg := _argument_for(text, name, at)) is not None:
            return _value(text, arg, reads, depth + 1)  # a parameter: what the function's caller passes
    return None, None


def value_at(text: str, at: int, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    """The literal, or the env read (its default, its name), the expression at ``at`` comes to: for another module's
    calls (pgai's configurations)."""
    return _value(text, at, reads)


# A TypeScript class field is declared with its modifiers (``private readonly MODEL = '...'``) and read as ``this.MODEL``.
_ASSIGN = (r"(?m)^\s*(?:export\s+)?(?:(?:private|protected|public|static|readonly|override|declare)\s+)*"
           r"(?:(?:const|let|var|final)\s+|(?:this|self)\.)?{name}\s*(?::\s*[^=\n]+)?=(?!=)\s*(?P<rhs>[^\n;]+)")


def _assignments(text: str, name: str) -> list[tuple[int, str]]:
    """Where each ``NAME = rhs`` of the file puts its right-hand side (``constant`` gives only the first)."""
    return [(m.start("rhs"), m.group("rhs").strip()) for m in re.finditer(_ASSIGN.format(name=re.escape(name)), text)]


_HEADER = re.compile(r"\s*(?:#|(?:if|elif|else|try|except|finally)\b)")


def _indent(text: str, pos: int) -> int:
    start = text.rfind("\n", 0, pos) + 1
    line = text[start:text.find("\n", start) if "\n" in text[start:] else len(text)]
    return len(line) - len(line.lstrip())


def _reaching(text: str, name: str, at: int) -> list[tuple[int, str]]:
    """The assignments of ``name`` whose value may reach ``at``: the nearest before it, or, when that one sits in a
    branch (``if``/``elif``/``else`` around a default per provider), every assignment of that chain of branches."""
    assigns = _assignments(text, name)
    before = [a for a in assigns if a[0] < at]
    if not before:
        return assigns[:1]
    group = [before[-1]]
    depth = _indent(text, group[0][0])
    lines = text[:text.rfind("\n", 0, group[0][0]) + 1].splitlines()
    header = next((line for line in reversed(lines) if line.strip() and len(line) - len(line.lstrip()) < depth), "")
    if not re.match(r"\s*(?:if|elif|else|try|except)\b", header):
        return group  # not in a branch: the nearest assignment is the value
    for pos, rhs in reversed(before[:-1]):
        if _indent(text, pos) != depth:
            break
        between = text[text.rfind("\n", 0, pos) + 1:text.rfind("\n", 0, group[-1][0]) + 1].splitlines()[1:]
        if any(line.strip() and len(line) - len(line.lstrip()) < depth and not _HEADER.match(line) for line in between):
            break
        group.append((pos, rhs))
    return group


_DEF = re.compile(r"""(?m)^[ \t]*(?:async\s+)?def\s+(?P<f>[A-Za-z_]\w*)\s*\(""")


def _argument_for(text: str, param: str, at: int) -> int | None:
    """Where the first caller in the file passes parameter ``param`` of the Python function enclosing ``at``:
    ``def init_embeddings(provider, model)`` called as ``init_embeddings(PROVIDER, EMBEDDINGS_MODEL)``."""
    enclosing = [m for m in _DEF.finditer(text, 0, at)]
    if not enclosing:
        return None
    fn = enclosing[-1]
    params = [m.group(1) for _, a in split_args(call_args(text, fn.end() - 1)) if (m := re.match(r"\*{0,2}(\w+)", a))]
    if param not in params:
        return None
    index = params.index(param) - (1 if params[0] in ("self", "cls") else 0)
    for call in re.finditer(rf"(?<![\w.]){re.escape(fn.group('f'))}\s*\(", text):
        if text[max(0, call.start() - 4):call.start()].endswith("def "):
            continue
        args = split_args(call_args(text, call.end() - 1))
        keyword = next((o for o, a in args if re.match(rf"{re.escape(param)}\s*=(?!=)", a)), None)
        if keyword is not None:
            offset = keyword + args_value_offset(text, call.end() + keyword)
            return call.end() + offset
        positional = [o for o, a in args if not re.match(r"\w+\s*=(?!=)", a)]
        if 0 <= index < len(positional):
            return call.end() + positional[index]
    return None


def args_value_offset(text: str, at: int) -> int:
    """From a ``name=value`` argument at ``at``, the offset of its value."""
    m = re.match(r"\w+\s*=\s*", text[at:])
    return m.end() if m else 0


def _receiver(text: str, dot: int) -> str | None:
    """The name a method is called on, the ``.`` of the call at ``dot``: ``ollama`` of ``ollama.embedding(...)``."""
    m = re.search(r"([A-Za-z_$][\w$]*)\s*$", text[:dot])
    return m.group(1) if m else None


def _ai_sdk_ollama(text: str, reads: list[EnvRead]) -> tuple[frozenset[str], tuple[str | None, str | None]] | None:
    """The names an Ollama AI SDK provider is bound to in a file (its imported ``ollama``, what ``createOllama(...)``
    makes) and the URL they post to: ``baseURL`` where given, else the package's own default."""
    imported = _AI_SDK_OLLAMA.search(text)
    if not imported:
        return None
    names = {m.group(2) or m.group(1) for m in re.finditer(r"([\w$]+)(?:\s+as\s+([\w$]+))?", imported.group("names"))
             if m.group(1) not in ("type",)}
    url: tuple[str | None, str | None] = (_AI_SDK_OLLAMA_URL, None)
    for made in re.finditer(r"(?:const|let|var)\s+([\w$]+)\s*=\s*createOllama\s*\(", text):
        names.add(made.group(1))
        args = call_args(text, made.end() - 1)
        if _URL_KW.search(args):
            url = _kw(text, args, made.end(), _URL_KW, reads)
    return frozenset(names), url


def _kw(text: str, args: str, offset: int, pattern: re.Pattern, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    m = pattern.search(args)
    if not m:
        return None, None
    return _value(text, offset + m.end(), reads)


def _positional(text: str, args: str, offset: int, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    stripped = len(args) - len(args.lstrip())
    if not args.strip() or re.match(r"\s*\w+\s*=", args):
        return None, None
    return _value(text, offset + stripped, reads)


_DIMENSIONS_KW = re.compile(r"""\bdimensions\s*[=:]\s*""")
# JavaScript's shorthand property (``ollama.embed({ model, input, dimensions })``): the variable of that name.
_DIMENSIONS_SHORT = re.compile(r"""(?<![\w.$])dimensions(?=\s*[,}])""")


def _dimensions(text: str, args: str, offset: int, reads: list[EnvRead]) -> tuple[int | None, str | None]:
    """Ollama's ``dimensions`` in a call's arguments: (the literal or the env read's default, the env name)."""
    m = _DIMENSIONS_KW.search(args)
    short = _DIMENSIONS_SHORT.search(args) if m is None else None
    if m is None and short is None:
        return None, None
    at = m.end() if m is not None else cast(re.Match, short).start()
    number = re.match(r"\d+\b", args[at:])
    if number:
        return int(number.group(0)), None
    value, env = _value(text, offset + at, reads)
    return (int(value) if value and value.strip().isdigit() else None), env


def _nearby_model(text: str, pos: int, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    """The model sent with an HTTP call: a ``model`` key within a few lines after the URL."""
    window = text[pos: pos + 600]
    m = _MODEL_KW.search(window)
    if not m:
        return None, None
    return _value(text, pos + m.end(), reads)


def _url_of(url: str, text: str, pos: int, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    base = url.rsplit("/api/", 1)[0].rsplit("/v1/", 1)[0]
    if base.startswith(("http://", "https://")) and "${" not in base and "{" not in base:
        return base, None
    var = re.search(r"\$\{\s*(?:this\.|self\.)?([A-Za-z_]\w*)|\{\s*(?:self\.)?([A-Za-z_]\w*)\s*\}", base)
    if var:
        name = var.group(1) or var.group(2)
        for r in reads:
            if r.name == name:
                return r.default, r.name
        rhs = constant(text, name)
        if rhs:
            return _value(text, text.find(rhs), reads)
    return None, None


def _client_url(text: str, reads: list[EnvRead]) -> tuple[str | None, str | None]:
    m = re.search(r"""\b(?:OpenAI|AsyncOpenAI|AzureOpenAI)\s*\(""", text)
    if not m:
        return None, None
    args = call_args(text, m.end() - 1)
    return _kw(text, args, m.end(), _URL_KW, reads)


def _ollama_functions(text: str) -> list[str]:
    """The names ``from ollama import ...`` binds to its embed functions (``embed``, ``embeddings``, or their alias)."""
    out = []
    for m in _OLLAMA_FROM_IMPORT.finditer(text):
        for part in re.sub(r"#[^\n]*", "", m.group("names")).strip("() \t\n").split(","):  # comments are no names
            original, _, alias = part.strip().partition(" as ")
            if original.strip() in ("embed", "embeddings"):
                out.append((alias or original).strip())
    return out


def _ollama_host(text: str, reads: list[EnvRead]) -> tuple[str | None, str | None, str | None]:
    """The host an ollama client embeds at: (literal or env default, env name, ``django#SETTING`` when it is a Django
    setting, which the settings module resolves)."""
    m = re.search(r"""\b(?:Client|AsyncClient|Ollama)\s*\(""", text)
    if m:
        args = call_args(text, m.end() - 1)
        # the client is given its host (by keyword, or as the clients' first parameter): OLLAMA_HOST is not read
        kw = _URL_KW.search(args)
        at = kw.end() if kw else len(args) - len(args.lstrip())
        if kw or (args.strip() and not re.match(r"\s*\w+\s*=", args)):
            setting = _DJANGO_SETTING.match(args, at) if _DJANGO_SETTINGS_IMPORT.search(text) else None
            return (*_value(text, m.end() + at, reads), f"django#{setting.group(1)}" if setting else None)
    for r in reads:  # the ollama clients read OLLAMA_HOST themselves
        if r.name == "OLLAMA_HOST":
            return r.default, r.name, None
    return None, "OLLAMA_HOST", None


_DJANGO_SETTINGS_IMPORT = re.compile(r"(?m)^\s*from\s+django\.conf\s+import\s+(?:[^\n]*\b)?settings\b")
_DJANGO_SETTING = re.compile(r"settings\.([A-Z][A-Z0-9_]*)\b(?!\s*\()")


def _django_setting_env(rel: str, name: str, read: Callable[[str], str | None]) -> EnvRead | None:
    """The environment read of Django setting ``name``: its assignment in the settings module the nearest
    ``manage.py`` above the calling file names (resolved beside that ``manage.py``)."""
    folders = posixpath.dirname(rel).split("/") if "/" in rel else []
    for depth in range(len(folders), -1, -1):
        base = "/".join(folders[:depth])
        manage = read(posixpath.join(base, "manage.py") if base else "manage.py")
        module = django_settings_module(manage) if manage else None
        if not module:
            continue
        for path in (module.replace(".", "/") + ".py", module.replace(".", "/") + "/__init__.py"):
            settings = read(posixpath.join(base, path) if base else path)
            if settings is None:
                continue
            reads = env_reads(settings, "python")
            for pos, _rhs in _assignments(settings, name):
                env = next((r for r in reads if r.start >= pos and r.start - pos < 40), None)
                if env is not None and _indent(settings, pos) == 0:
                    return env
        return None
    return None
