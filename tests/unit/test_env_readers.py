"""The contract reader follows every common way an application reads its environment: os.environ, python-decouple,
django-environ, pydantic BaseSettings, process.env, import.meta.env, zod-validated env objects and NestJS's
ConfigService."""

import pytest

from harness.locate.contract import read_contract

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "env-readers"


def contract_of(name):
    return read_contract(name, (FIXTURES / name).read_text())


@pytest.mark.parametrize("name, expected", [
    ("os_environ.py", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}", "EMBED_MODEL": "{model}"}),
    ("decouple_settings.py", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}",
                              "EMBED_MODEL": "{model}"}),
    ("django_environ_settings.py", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}",
                                    "EMBED_MODEL": "{model}", "EMBED_BATCH_SIZE": "{batch_size}"}),
    ("django_environ_db_default.py", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}"}),
    ("pydantic_settings.py", {"APP_DATABASE_URL": "{database_url}", "APP_OLLAMA_HOST": "{provider_url}",
                              "EMBEDDING_MODEL": "{model}"}),
    ("pydantic_settings_v1.py", {"RAG_DATABASE_URL": "{database_url}", "RAG_OLLAMA_HOST": "{provider_url}",
                                 "RAG_EMBED_MODEL": "{model}"}),
    ("pydantic_settings_dict_prefix.py", {"SVC_DATABASE_URL": "{database_url}", "SVC_EMBED_MODEL": "{model}"}),
    ("process_env.ts", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}", "EMBED_MODEL": "{model}"}),
    ("vite_env.ts", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}", "EMBED_MODEL": "{model}"}),
    ("zod_env.ts", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}", "EMBED_MODEL": "{model}"}),
    ("t3_env.ts", {"DATABASE_URL": "{database_url}", "EMBED_MODEL": "{model}"}),
    ("nest_config.ts", {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}", "EMBED_MODEL": "{model}"}),
])
def test_each_reader_maps_the_names_it_reads_onto_our_placeholders(name, expected):
    assert contract_of(name).backfill_env() == expected


@pytest.mark.parametrize("name", ["decouple_settings.py", "django_environ_settings.py", "pydantic_settings.py",
                                  "os_environ.py", "process_env.ts", "zod_env.ts", "nest_config.ts"])
def test_a_readers_default_url_is_a_default_not_a_hard_coded_address(name):
    contract = contract_of(name)
    assert contract.hardcoded_urls == ()
    assert dict(contract.env_defaults).get("OLLAMA_HOST", "http://localhost:11434").endswith(":11434")


def test_decouple_and_django_environ_defaults_are_recorded():
    assert dict(contract_of("decouple_settings.py").env_defaults)["EMBED_MODEL"] == "nomic-embed-text"
    assert dict(contract_of("django_environ_settings.py").env_defaults)["EMBED_MODEL"] == "nomic-embed-text"


def test_nestjs_config_service_reads_give_their_default_and_only_where_the_file_imports_it():
    """`configService.get<string>('OLLAMA_HOST', 'http://localhost:11434')`: the second argument is the default; a
    `.get("X")` of a file that does not import @nestjs/config (a Map, a cache) reads no environment variable."""
    assert dict(contract_of("nest_config.ts").env_defaults)["OLLAMA_HOST"] == "http://localhost:11434"
    text = 'const cache = new Map();\nexport const model = cache.get("EMBED_MODEL");\n'
    assert read_contract("cache.ts", text).reads_env == ()


def test_a_maps_get_in_a_file_importing_nestjs_config_is_no_env_read():
    """A service that imports ConfigService and keeps a Map (a cache, a header bag): `cache.get("EMBED_MODEL")` was read
    as the variable EMBED_MODEL; only a ConfigService's get is one (a receiver typed so, or named for the config)."""
    text = ('import { ConfigService } from "@nestjs/config";\n'
            "export class Embedder {\n  private cache = new Map<string, string>();\n"
            "  constructor(private readonly settings: ConfigService, private config: ConfigService) {}\n"
            '  url() { return this.settings.get("DATABASE_URL"); }\n'
            '  host() { return this.config.get("OLLAMA_HOST"); }\n'
            '  model() { return this.cache.get("EMBED_MODEL") ?? headers.get("X_MODEL"); }\n}\n')
    assert read_contract("embedder.ts", text).reads_env == ("DATABASE_URL", "OLLAMA_HOST")


def test_a_method_named_config_on_another_object_is_not_an_env_read():
    text = 'app.config("DATABASE_URL")\nparser.env("EMBED_MODEL")\n'
    assert read_contract("x.py", text).reads_env == ()


def test_upper_case_keys_of_a_zod_object_are_env_names_only_where_the_file_reads_the_environment():
    text = 'import { z } from "zod";\nexport const Row = z.object({ DATABASE_URL: z.string() });\n'
    assert read_contract("row.ts", text).reads_env == ()


def test_a_function_named_config_or_env_of_the_apps_own_is_not_an_env_read():
    # reads a YAML file: a profile mapping EMBEDDING_MODEL would not reach it, so the contract must not say it reads it
    text = ('import yaml\n\nSETTINGS = yaml.safe_load(open("settings.yaml"))\n\n\ndef config(key):\n'
            '    return SETTINGS[key]\n\n\nenv = SETTINGS.get\nMODEL = config("EMBEDDING_MODEL")\n'
            'DSN = env("DATABASE_URL")\n')
    assert read_contract("app.py", text).reads_env == ()


def test_a_decouple_config_call_at_the_start_of_a_line_is_still_an_env_read():
    text = 'from decouple import config\n\nconfig("EMBED_MODEL")\nenv = environ.Env()\nDSN = env("DB_DSN")\n'
    assert set(read_contract("settings.py", text).reads_env) == {"EMBED_MODEL", "DB_DSN"}


def test_an_imported_validated_env_object_reads_each_upper_case_name():
    # @t3-oss/env's createEnv, imported as `env` (formbricks' packages/lib/env.ts): env.NAME is a read of NAME.
    text = ('import { env } from "./env";\n\nconst url = env.DATABASE_URL;\n'
            'const model = env.EMBEDDING_MODEL || "nomic-embed-text";\nconst local = myenv.NOT_READ; env.lowercase;\n')
    assert set(read_contract("db.ts", text).reads_env) == {"DATABASE_URL", "EMBEDDING_MODEL"}


def test_a_property_named_env_of_an_object_not_imported_is_no_env_read():
    text = 'const config = loadConfig();\nconst model = config.env.EMBEDDING_MODEL;\n'
    assert read_contract("cfg.ts", text).reads_env == ()


def test_a_dsn_in_a_docstring_and_a_documentation_link_are_no_hard_coded_urls():
    """Haystack's store documents `PG_CONN_STR="postgresql://USER:PASSWORD@HOST:PORT/DB_NAME"` in its docstring and
    links PostgreSQL's manual in an error message: neither is an address the code connects to; a DSN in code is."""
    text = ('CREATE_TABLE = """\n'
            'CREATE TABLE t (id text)\n'
            '"""\n\n'
            'class Store:\n'
            '    def __init__(self, connection_string=None):\n'
            '        """\n'
            '        - URI, e.g. `PG_CONN_STR="postgresql://USER:PASSWORD@HOST:PORT/DB_NAME"`\n'
            '        """\n'
            '        msg = ("Failed to connect. See "\n'
            '               "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING.")\n'
            '        self.dsn = "postgresql://app@db:5432/app"\n')
    assert read_contract("store.py", text).hardcoded_urls == ("postgresql://app@db:5432/app",)


def test_an_annotated_assignment_in_a_function_body_is_a_hard_coded_url_not_a_parameters_default():
    # `dsn: str = "..."` inside a function is the value the code connects to, as `dsn = "..."` is; it was taken for a
    # parameter's default (the rule meant for `def __init__(self,\n url: str = "...",`) and the DSN went unreported.
    text = ('import psycopg\n\n'
            'def main():\n'
            '    dsn: str = "postgresql://app@db:5432/app"\n'
            '    with psycopg.connect(dsn) as conn:\n'
            '        pass\n\n'
            'class Embedder:\n'
            '    def __init__(self, model: str = "nomic-embed-text",\n'
            '                 url: str = "http://localhost:11434",\n'
            '                 timeout: int = 30):\n'
            '        self.url = url\n')
    assert read_contract("ingest.py", text).hardcoded_urls == ("postgresql://app@db:5432/app",)


def test_an_f_string_dsn_built_from_the_files_own_literals_is_a_hard_coded_url():
    """ChrisTowles/rag-demo-ollama-and-pgvector's `create_db_connection`: the DSN an f-string makes of variables each
    assigned a literal (`host = "127.0.0.1"`, `port = 5432`) is as hard-coded as the literal DSN (its password
    masked); one placeholder read from the environment, or of no literal, leaves it no hard-coded address."""
    text = ('import psycopg2\n\n\ndef create_db_connection():\n\n'
            '    username = "local_rag_user"\n    password = "password"\n    host = "127.0.0.1"\n    port = 5432\n'
            '    database = "local_rag_db"\n'
            '    connection_string = f"postgresql://{username}:{password}@{host}:{port}/{database}"\n\n'
            '    return psycopg2.connect(connection_string)\n')
    assert read_contract("db.py", text).hardcoded_urls == ("postgresql://local_rag_user:***@127.0.0.1:5432/local_rag_db",)
    from_env = text.replace('host = "127.0.0.1"', 'host = os.getenv("PGHOST", "127.0.0.1")')
    assert read_contract("db.py", from_env).hardcoded_urls == ()
    unknown = text.replace('    port = 5432\n', '')
    assert read_contract("db.py", unknown).hardcoded_urls == ()
    parameter = text + '\n\ndef connect(host):\n    return psycopg2.connect(f"postgresql://app@{host}:5432/app")\n'
    assert read_contract("db.py", parameter).hardcoded_urls == (
        "postgresql://local_rag_user:***@127.0.0.1:5432/local_rag_db",)  # `host` there is connect's parameter


def test_a_literal_holding_a_hash_sign_is_the_literal_not_a_comment():
    """`password = "pa#ss"` read as `"pa` and a comment: no literal, so the DSN the f-string builds of it was no
    hard-coded address (scope left 'command receives the database' unproven for it)."""
    text = ('import psycopg\n\nuser = "app"\npassword = "pa#ss"  # the dev password\nhost = "127.0.0.1"\n'
            'conn = psycopg.connect(f"postgresql://{user}:{password}@{host}:5432/app")\n')
    assert read_contract("db.py", text).hardcoded_urls == ("postgresql://app:***@127.0.0.1:5432/app",)


def test_django_configurations_values_are_read_under_their_prefixed_environment_names():
    """django-configurations (OWASP Nest): ``values.Value(environ_name="DB_NAME")`` reads DJANGO_DB_NAME (the default
    prefix), a value named by its attribute reads DJANGO_<ATTRIBUTE>, ``environ_prefix`` replaces the prefix and
    ``environ=False`` reads nothing."""
    text = ('from configurations import Configuration, values\n\n\nclass Base(Configuration):\n'
            '    SECRET_KEY = values.SecretValue()\n    OLLAMA_URL = values.Value("http://localhost:11434")\n'
            '    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",\n'
            '        "NAME": values.Value(environ_name="DB_NAME"), "HOST": values.Value(environ_name="DB_HOST"),\n'
            '        "PASSWORD": values.SecretValue(environ_name="DB_PASSWORD")}}\n'
            '    EMBED_MODEL = values.Value("nomic-embed-text", environ_prefix="NEST")\n'
            '    DEBUG = values.BooleanValue(False, environ=False)\n')
    contract = read_contract("settings/base.py", text)
    assert set(contract.reads_env) == {"DJANGO_SECRET_KEY", "DJANGO_OLLAMA_URL", "DJANGO_DB_NAME", "DJANGO_DB_HOST",
                                       "DJANGO_DB_PASSWORD", "NEST_EMBED_MODEL"}, contract.reads_env
    assert dict(contract.env_defaults)["NEST_EMBED_MODEL"] == "nomic-embed-text"
    assert contract.backfill_env()["DJANGO_DB_NAME"] == "{database_name}"


def test_the_web_apps_own_origins_and_site_url_are_no_hard_coded_addresses_of_the_command():
    """OWASP Nest's settings list the frontend's origins and the site's URL: the command never calls them, and the draft
    told the user to serve them. The embedder's address beside them still counts."""
    text = ('class Local(Base):\n    SITE_URL = "http://localhost:8000"\n'
            '    ALLOWED_ORIGINS = (\n        "http://127.0.0.1:3000",\n        "http://localhost:3000",\n    )\n'
            '    CSRF_TRUSTED_ORIGINS = ["http://localhost:3000"]\n'
            '    EMBEDDER = {"host": "http://localhost:11434"}\n'
            'SITE_URL = "http://localhost:8000"\nrequests.post("http://localhost:11435/api/embed", json={})\n')
    assert read_contract("settings/local.py", text).hardcoded_urls == ("http://localhost:11434",
                                                                       "http://localhost:11435/api/embed")
