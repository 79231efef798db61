"""The target's contract, checked before anything runs: the command must receive the database, provider and model
it is meant to use; what to map is said exactly; an unreadable contract is 'contract unknown', never ok."""

import textwrap

import pytest

from harness import redact
from harness.checks.outcome import FAIL, PASS, UNPROVEN
from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.settings import resolve
from harness.steps.common import backfill_env, shown_env
from harness.steps.contract_check import check_contract

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"
DSN = "postgresql://app:pw-4711-secret@db.example:5432/app"


def settings_for(repo: str | None, command: str | None, *, env: dict | None = None, provider="http://gpu-box:11434",
                 model="all-minilm", extra: str = ""):
    lines = ["name: t", f"provider: {{model: {model}, url: '{provider}', dimensions: 384}}",
             "chunks: {table: document_chunks, collection: collection}",
             "embeddings: {table: document_embeddings, key: chunk_id}", "backfill:"]
    if command:
        lines.append(f"  command: {command!r}")
    if repo:
        lines.append(f"  workdir: {str(FIXTURES / repo)!r}")
    if env:
        lines.append("  env:")
        lines += [f"    {k}: {v!r}" for k, v in env.items()]
    if extra:
        lines += ["  " + line for line in textwrap.dedent(extra).strip().splitlines()]
    if not command and not repo and not env and not extra:
        lines.pop()
    profile = parse_profile("\n".join(lines) + "\n", env={})
    return resolve(profile, env={"DATABASE_URL": DSN})


def outcome(result, name):
    return next(o for o in result.outcomes if o.check == name)


def test_a_command_reading_db_dsn_that_nothing_maps_fails_and_says_what_to_map():
    result = check_contract(settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py"), "c", caller_env={})
    db = outcome(result, "command receives the database")
    assert db.status == FAIL and not result.ok
    assert "DB_DSN" in db.found
    assert db.expected == 'add backfill.env: {DB_DSN: "{database_url}"} to the profile'


def test_a_command_reading_embedding_model_while_we_pass_only_embed_model_fails():
    result = check_contract(settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py"), "c", caller_env={})
    model = outcome(result, "command uses the model")
    assert model.status == FAIL
    assert "EMBEDDING_MODEL" in model.found and "only EMBED_MODEL is passed" in model.found
    assert model.expected == 'add backfill.env: {EMBEDDING_MODEL: "{model}"} to the profile'


def test_a_hard_coded_localhost_11434_while_the_provider_is_elsewhere_fails():
    result = check_contract(settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py"), "c", caller_env={})
    provider = outcome(result, "command reaches the provider")
    assert provider.status == FAIL
    assert "hard-codes http://localhost:11434/api/embeddings while the provider is http://gpu-box:11434" in provider.found


def test_mapped_names_and_the_provider_at_the_hard_coded_address_pass():
    settings = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py", provider="http://127.0.0.1:11434",
                            env={"DB_DSN": "{database_url}", "EMBEDDING_MODEL": "{model}"})
    result = check_contract(settings, "c", caller_env={})
    assert [o.status for o in result.outcomes] == [PASS, PASS, PASS]
    assert result.ok


def test_the_callers_environment_naming_another_database_fails():
    settings = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py", provider="http://localhost:11434",
                            env={"EMBEDDING_MODEL": "{model}"})
    result = check_contract(settings, "c", caller_env={"DB_DSN": "postgresql://other@elsewhere/db"})
    db = outcome(result, "command receives the database")
    assert db.status == FAIL and "sets to another database" in db.found


def test_pnpm_script_reading_ollama_url_is_followed_through_the_workspace():
    settings = settings_for("ts-drizzle-pnpm/packages/db", "pnpm run embeddings:backfill",
                            env={"EMBEDDING_MODEL": "{model}"})
    result = check_contract(settings, "c", caller_env={})
    assert outcome(result, "command receives the database").status == PASS  # DATABASE_URL is ours
    provider = outcome(result, "command reaches the provider")
    assert provider.status == FAIL
    assert provider.expected == 'add backfill.env: {OLLAMA_URL: "{provider_url}"} to the profile'


def test_pnpm_filter_from_the_workspace_root_reads_the_same_contract():
    settings = settings_for("ts-drizzle-pnpm", "pnpm --filter @notes/db run embeddings:backfill",
                            env={"OLLAMA_URL": "{provider_url}", "EMBEDDING_MODEL": "{model}"})
    result = check_contract(settings, "c", caller_env={})
    assert result.ok and [o.status for o in result.outcomes] == [PASS, PASS, PASS]


def test_a_binary_is_contract_unknown_in_the_assumptions_and_no_check_passes():
    result = check_contract(settings_for("py-sqlalchemy-dsn", "reembed-binary --all"), "c", caller_env={})
    assert [o.status for o in result.outcomes] == [UNPROVEN]
    assert result.outcomes[0].note.startswith("contract unknown: cannot read what 'reembed-binary' runs")
    assert any(a.startswith("contract unknown: cannot read what 'reembed-binary' runs") for a in result.assumptions)


def test_a_container_command_is_contract_unknown():
    result = check_contract(settings_for("py-sqlalchemy-dsn", "docker compose run app reembed"), "c", caller_env={})
    assert any("contract unknown" in a and "container" in a for a in result.assumptions)


def test_no_backfill_command_is_contract_unknown():
    result = check_contract(settings_for(None, None), "c", caller_env={})
    assert [o.status for o in result.outcomes] == [UNPROVEN] and result.ok
    assert any(a.startswith("contract unknown: the profile names no backfill.command") for a in result.assumptions)


def test_the_harness_engine_is_its_own_contract():
    result = check_contract(settings_for(None, "backfill-harness backfill --profile p.yaml --collection c"), "c",
                            caller_env={})
    assert result.ok and result.outcomes[0].status == PASS


IN_PROCESS = """
embeds_in_process: true
in_process_model: ./models/all-MiniLM-L6-v2
"""


def test_in_process_embedder_is_stated_and_the_provider_is_not_required():
    settings = settings_for("py-inprocess-skill", "python -m app.embed_chunks", env={"PG_DSN": "{database_url}"},
                            extra=IN_PROCESS)
    result = check_contract(settings, "c", caller_env={})
    assert [o.check for o in result.outcomes] == ["command receives the database", "command uses the model"]
    assert result.ok
    assert "defaults to ./models/all-MiniLM-L6-v2" in outcome(result, "command uses the model").found
    stated = [a for a in result.assumptions if "embeds in-process" in a]
    assert stated and "used only to check" in stated[0] and "recompute" in stated[0]


def test_in_process_embedder_loading_another_model_than_the_profile_says_fails():
    settings = settings_for("py-inprocess-skill", "python -m app.embed_chunks", env={"PG_DSN": "{database_url}"},
                            extra="embeds_in_process: true\nin_process_model: BAAI/bge-small-en-v1.5\n")
    model = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert model.status == FAIL and "./models/all-MiniLM-L6-v2" in model.found
    assert "EMBEDDING_MODEL_PATH" in model.expected


def test_in_process_needs_the_model_it_loads():
    with pytest.raises(ConfigError, match="backfill.in_process_model"):
        settings_for(None, None, extra="embeds_in_process: true\n")


def test_placeholders_are_filled_in_backfill_env():
    settings = settings_for(None, None, env={"DB_DSN": "{database_url}", "EMBEDDING_MODEL": "{model}",
                                             "OLLAMA_URL": "{provider_url}/", "BATCH": "{batch_size}",
                                             "DIMS": "{dimensions}", "TARGET": "{into}", "SOURCE": "{collection}"})
    env = backfill_env(settings, "live", "live_v2")
    assert env["DB_DSN"] == DSN and env["EMBEDDING_MODEL"] == "all-minilm"
    assert env["OLLAMA_URL"] == "http://gpu-box:11434/" and env["BATCH"] == "100" and env["DIMS"] == "384"
    assert (env["SOURCE"], env["TARGET"]) == ("live", "live_v2")


def test_a_mapped_dsn_stays_masked_when_shown():
    settings = settings_for(None, None, env={"DB_DSN": "{database_url}"})
    shown = shown_env(backfill_env(settings, "c"))
    assert "pw-4711-secret" not in str(shown) and redact.MASK in shown["DB_DSN"]


def test_an_unknown_placeholder_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"'backfill.env.X' uses placeholder \{dsn\}"):
        settings_for(None, None, env={"X": "{dsn}"})


def test_dimensions_placeholder_without_declared_dimensions_is_refused():
    profile = parse_profile("name: t\nprovider: {model: m, url: 'http://h:1'}\n"
                            "chunks: {table: c, collection: collection}\nembeddings: {table: e, key: k}\n"
                            "backfill: {env: {DIMS: '{dimensions}'}}\n", env={})
    with pytest.raises(ConfigError, match="backfill.env.DIMS"):
        backfill_env(resolve(profile, env={"DATABASE_URL": DSN}), "c")


SPLIT_DSN = '''
import os

HOST = os.environ["POSTGRES_HOST"]
USER = os.environ["POSTGRES_USERNAME"]
PASSWORD = os.environ.get("POSTGRES_PASSWORD")
NAME = os.environ["POSTGRES_DATABASE"]
SSL = os.environ.get("POSTGRES_SSL", "disable")
EMBED_MODEL = os.environ.get("EMBED_MODEL")
'''


@pytest.fixture
def split_repo(tmp_path):
    (tmp_path / "update_embeddings.py").write_text(SPLIT_DSN)
    return tmp_path


def split_settings(repo, env=None):
    profile = parse_profile("name: t\nprovider: {model: m, url: 'http://h:1'}\n"
                            "chunks: {table: c, collection: collection}\nembeddings: {table: e, key: k}\n"
                            f"backfill: {{command: 'python update_embeddings.py', workdir: '{repo}', env: {env or {}}}}\n",
                            env={})
    return resolve(profile, env={"DATABASE_URL": DSN})


def test_a_dsn_split_over_host_user_password_and_name_says_which_parts_to_map(split_repo):
    db = outcome(check_contract(split_settings(split_repo), "c", caller_env={}), "command receives the database")
    assert db.status == FAIL
    assert db.expected == ('add backfill.env: {POSTGRES_HOST: "{database_host}", POSTGRES_USERNAME: "{database_user}", '
                           'POSTGRES_PASSWORD: "{database_password}", POSTGRES_DATABASE: "{database_name}"} to the profile')


def test_every_part_mapped_receives_the_database_and_the_password_stays_masked(split_repo):
    env = {"POSTGRES_HOST": "{database_host}", "POSTGRES_USERNAME": "{database_user}",
           "POSTGRES_PASSWORD": "{database_password}", "POSTGRES_DATABASE": "{database_name}"}
    settings = split_settings(split_repo, env)
    assert outcome(check_contract(settings, "c", caller_env={}), "command receives the database").status == PASS
    filled = backfill_env(settings, "c")
    assert (filled["POSTGRES_HOST"], filled["POSTGRES_USERNAME"], filled["POSTGRES_DATABASE"]) == ("db.example", "app", "app")
    assert shown_env(filled)["POSTGRES_PASSWORD"] == redact.MASK


def test_the_contract_suggests_the_backfill_env_that_passes_the_check():
    from harness.locate.contract import command_contract

    contract = command_contract("python scripts/reembed.py", FIXTURES / "py-sqlalchemy-dsn")
    assert contract.backfill_env() == {"DB_DSN": "{database_url}", "EMBEDDING_MODEL": "{model}"}
    settings = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py", provider="http://localhost:11434",
                            env=contract.backfill_env())
    assert check_contract(settings, "c", caller_env={}).ok


def test_split_dsn_names_get_their_part_placeholders(split_repo):
    from harness.locate.contract import command_contract

    assert command_contract("python update_embeddings.py", split_repo).backfill_env() == {
        "POSTGRES_HOST": "{database_host}", "POSTGRES_USERNAME": "{database_user}",
        "POSTGRES_PASSWORD": "{database_password}", "POSTGRES_DATABASE": "{database_name}", "EMBED_MODEL": "{model}"}


def test_cd_into_the_package_then_run_is_followed():
    from harness.locate.contract import command_contract

    contract = command_contract("cd packages/db && pnpm run embeddings:backfill", FIXTURES / "ts-drizzle-pnpm")
    assert contract.known and "OLLAMA_URL" in contract.reads_env


def test_a_hard_coded_model_other_than_the_profiles_fails():
    settings = settings_for("ts-typeorm-knex", "npm run reembed", provider="http://localhost:11434")
    model = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert model.status == FAIL
    assert "hard-codes model snowflake-arctic-embed:s while the profile's model is all-minilm" in model.found


def test_a_hard_coded_model_of_another_namespace_is_another_model():
    """acme/snowflake-arctic-embed:s is not library/snowflake-arctic-embed:s: the check passed them as one, its own
    rule stripping every path (model_names.same_model is the one rule)."""
    settings = settings_for("ts-typeorm-knex", "npm run reembed", provider="http://localhost:11434",
                            model="acme/snowflake-arctic-embed:s")
    assert outcome(check_contract(settings, "c", caller_env={}), "command uses the model").status == FAIL
    settings = settings_for("ts-typeorm-knex", "npm run reembed", provider="http://localhost:11434",
                            model="registry.ollama.ai/library/snowflake-arctic-embed:s")
    assert outcome(check_contract(settings, "c", caller_env={}), "command uses the model").status == PASS


def test_a_provider_name_mapped_to_another_host_fails():
    settings = settings_for("ts-drizzle-pnpm/packages/db", "pnpm run embeddings:backfill",
                            env={"OLLAMA_URL": "http://elsewhere:11434", "EMBEDDING_MODEL": "{model}"})
    provider = outcome(check_contract(settings, "c", caller_env={}), "command reaches the provider")
    assert provider.status == FAIL and "sets to another host" in provider.found


def test_a_model_name_mapped_to_another_model_fails():
    settings = settings_for("ts-drizzle-pnpm/packages/db", "pnpm run embeddings:backfill",
                            env={"OLLAMA_URL": "{provider_url}", "EMBEDDING_MODEL": "nomic-embed-text"})
    model = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert model.status == FAIL and "'nomic-embed-text', not 'all-minilm'" in model.found


def test_a_named_default_url_is_not_a_hard_coded_address(tmp_path):
    from harness.locate.contract import read_contract

    contract = read_contract("client.py", 'DEFAULT_URL = "http://127.0.0.1:11434"\nURL = "http://127.0.0.1:11434"\n')
    assert contract.hardcoded_urls == ("http://127.0.0.1:11434",)
    assert read_contract("client.py", 'DEFAULT_URL = "http://127.0.0.1:11434"\n').hardcoded_urls == ()


def test_a_model_constant_is_hard_coded_only_when_it_names_the_embedding_model():
    from harness.locate.contract import read_contract

    text = 'UNKNOWN_MODEL = "unknown"\nCHAT_MODEL = "llama3"\nEMBEDDING_MODEL = "nomic-embed-text"\n'
    assert read_contract("config.py", text).hardcoded_models == ("nomic-embed-text",)


def test_an_env_name_compared_with_literals_is_a_selector_not_a_url():
    from harness.locate.contract import read_contract

    text = ('import os\nHOST = os.getenv("OPENAI_EMBED_HOST")\nif HOST == "ollama":\n'
            '    url = os.environ["OLLAMA_ENDPOINT"]\n')
    contract = read_contract("deps.py", text)
    assert contract.selectors == ("OPENAI_EMBED_HOST",)
    assert contract.backfill_env() == {"OLLAMA_ENDPOINT": "{provider_url}"}


def test_every_name_carrying_our_settings_is_mapped_and_the_chat_model_is_not():
    from harness.locate.contract import command_contract

    contract = command_contract("python -m app.engine.generate", FIXTURES / "py-llamaindex-pg")
    # `PG_CONNECTION_STRING == ""` checks presence (not a selector); MODEL is the chat model beside EMBEDDING_MODEL.
    assert contract.backfill_env() == {"PG_CONNECTION_STRING": "{database_url}", "EMBEDDING_DIM": "{dimensions}",
                                       "OLLAMA_BASE_URL": "{provider_url}", "EMBEDDING_MODEL": "{model}"}


def test_an_env_name_matched_against_cases_is_a_selector():
    from harness.locate.contract import command_contract

    assert command_contract("python -m app.engine.generate", FIXTURES / "py-llamaindex-pg").selectors == ("MODEL_PROVIDER",)


def test_a_model_name_ending_in_emb_is_the_embedders_and_the_bare_ollama_model_beside_it_the_chat_models():
    """Recallr's Go clients: the embedder reads OLLAMA_MODEL_EMB (and OLLAMA_BASE_URL_EMB), the chat client
    OLLAMA_MODEL; the command must be given the model as OLLAMA_MODEL_EMB, never as the chat model's name."""
    from harness.locate.contract import read_contract

    text = ('package x\n\nimport "os"\n\nvar a = os.Getenv("OLLAMA_MODEL_EMB")\nvar b = os.Getenv("OLLAMA_MODEL")\n'
            'var c = os.Getenv("OLLAMA_BASE_URL_EMB")\n')
    assert read_contract("x.go", text).backfill_env() == {"OLLAMA_MODEL_EMB": "{model}",
                                                          "OLLAMA_BASE_URL_EMB": "{provider_url}"}


def test_a_bare_model_name_is_the_embedding_model_when_nothing_more_specific_is_read():
    from harness.locate.contract import read_contract

    assert read_contract("x.py", 'import os\nM = os.getenv("MODEL")\n').backfill_env() == {"MODEL": "{model}"}


@pytest.mark.parametrize("name, placeholder", [
    ("PG_CONNECTION_STRING", "{database_url}"), ("PGVECTOR_URL", "{database_url}"), ("SUPABASE_DB_URL", "{database_url}"),
    ("SQLALCHEMY_DATABASE_URI", "{database_url}"), ("OLLAMA_API_BASE", "{provider_url}"),
    ("EMBEDDING_SERVICE_URL", "{provider_url}"), ("EMBEDDINGS_MODEL_NAME", "{model}"), ("OLLAMA_EMBED_MODEL", "{model}"),
    ("EMBEDDING_DIM", "{dimensions}"), ("CHAT_MODEL", None), ("LLM_MODEL", None), ("PGHOST", "{database_host}")])
def test_env_names_map_to_placeholders_by_pattern(name, placeholder):
    from harness.locate.config import placeholder_for

    assert placeholder_for(name) == placeholder


NOTES_APP = "django-owned-notes/src/notesapp"


def test_a_required_flag_the_command_does_not_pass_fails_naming_it():
    """khoj's change_default_model requires --search_model_id: run without it, argparse stops it before it starts."""
    result = check_contract(settings_for(NOTES_APP, "python manage.py switch_encoder --apply"), "c", caller_env={})
    flags = outcome(result, "command's required flags")
    assert flags.status == FAIL and not result.ok
    assert "--config_id" in flags.found and "--config_id" in flags.expected


def test_a_required_flag_given_in_the_command_passes():
    result = check_contract(settings_for(NOTES_APP, "python manage.py switch_encoder --config_id 1 --apply"), "c",
                            caller_env={})
    assert outcome(result, "command's required flags").status == PASS


def test_a_required_flag_given_in_backfill_args_passes():
    settings = settings_for(NOTES_APP, "python manage.py switch_encoder", extra="args: ['--config_id', '1']")
    assert outcome(check_contract(settings, "c", caller_env={}), "command's required flags").status == PASS


RAG_API_LIKE_CONFIG = '''import os


def get_env_variable(var_name, default_value=None):
    value = os.getenv(var_name)
    return default_value if value is None else value


POSTGRES_DB = get_env_variable("POSTGRES_DB", "mydatabase")
ATLAS_MONGO_DB_URI = get_env_variable("ATLAS_MONGO_DB_URI", "mongodb://127.0.0.1:27018/LibreChat")
COLLECTION_NAME = get_env_variable("COLLECTION_NAME", "testcollection")
if PROVIDER == "openai":
    EMBEDDINGS_MODEL = get_env_variable("EMBEDDINGS_MODEL", "text-embedding-3-small")
else:
    EMBEDDINGS_MODEL = get_env_variable("EMBEDDINGS_MODEL", "nomic-embed-text")
'''


def test_another_database_systems_url_is_not_mapped_to_ours():
    from harness.locate.contract import read_contract

    assert "ATLAS_MONGO_DB_URI" not in read_contract("config.py", RAG_API_LIKE_CONFIG).backfill_env()


def test_the_collection_the_command_writes_is_mapped_to_the_target_collection():
    from harness.locate.contract import read_contract

    assert read_contract("config.py", RAG_API_LIKE_CONFIG).backfill_env()["COLLECTION_NAME"] == "{into}"


def test_a_name_read_with_different_defaults_has_no_default():
    from harness.locate.contract import read_contract

    contract = read_contract("config.py", RAG_API_LIKE_CONFIG)
    assert "EMBEDDINGS_MODEL" not in contract.defaults() and contract.defaults()["POSTGRES_DB"] == "mydatabase"


@pytest.mark.parametrize("name,expected", [("COLLECTION_NAME", "{into}"), ("PG_COLLECTION_NAME", "{into}"),
                                           ("QDRANT_COLLECTION", None), ("MONGO_VECTOR_COLLECTION", None),
                                           ("REDIS_URL", None), ("MONGODB_URI", None), ("PG_DATABASE_URL", "{database_url}"),
                                           ("NEXT_PUBLIC_SENTRY_DSN", None), ("SENTRY_DSN", None), ("POSTHOG_DSN", None),
                                           ("DATABASE_DSN", "{database_url}"),
                                           # cognee: its graph store, its cache, Turso (libSQL) and connection options
                                           ("GRAPH_DATABASE_URL", None), ("GRAPH_DATABASE_PASSWORD", None),
                                           ("CACHE_DB_URL", None), ("DB_TURSO_URL", None), ("DATABASE_CONNECT_ARGS", None),
                                           ("POOL_ARGS", None), ("DB_HOST", "{database_host}"),
                                           ("VECTOR_DB_PASSWORD", "{database_password}")])
def test_names_of_collections_and_of_other_stores(name, expected):
    from harness.locate.config import placeholder_for

    assert placeholder_for(name) == expected


# -- a command that reaches its database through an HTTP API, and embeds through OpenAI's ----------------------------

def test_a_command_reaching_its_database_through_supabases_rest_api_fails_naming_the_url_it_reads():
    """nextjs-openai-doc-search's `pnpm run embeddings` writes through `createClient(NEXT_PUBLIC_SUPABASE_URL, ...)`:
    no Postgres DSN can be given to it, so scope said `unknown`; it fails, saying where the command writes."""
    result = check_contract(settings_for("ts-supabase-docs-checksum", "pnpm run embeddings"), "c", caller_env={})
    db = outcome(result, "command receives the database")
    assert db.status == FAIL and not result.ok
    assert "NEXT_PUBLIC_SUPABASE_URL" in db.found and "HTTP API" in db.found and "nothing sets it" in db.found
    assert "--engine" in db.expected


def test_a_database_api_url_that_is_set_is_unproven_never_ok():
    """Set (a local Supabase), nothing here can read which Postgres database that API serves."""
    settings = settings_for("ts-supabase-docs-checksum", "pnpm run embeddings",
                            env={"NEXT_PUBLIC_SUPABASE_URL": "http://localhost:54321"})
    db = outcome(check_contract(settings, "c", caller_env={}), "command receives the database")
    assert db.status == UNPROVEN
    assert "http://localhost:54321" in db.note and "the profile" in db.note


def test_a_command_embedding_through_openais_sdk_with_no_base_url_fails_to_reach_the_provider():
    """`new OpenAIApi(new Configuration({ apiKey }))` calls api.openai.com whatever the provider is."""
    result = check_contract(settings_for("ts-supabase-docs-checksum", "pnpm run embeddings"), "c", caller_env={})
    provider = outcome(result, "command reaches the provider")
    assert provider.status == FAIL
    assert "OpenAI's API" in provider.found and "lib/generate.ts:16" in provider.found
    assert "reads no base URL" in provider.found and "openai-node 3" in provider.found


def test_an_openai_sdk_command_that_reads_a_base_url_stays_unproven():
    settings = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py")
    from harness.locate.contract import Contract

    contract = Contract(reads_env=("OPENAI_BASE_URL",), embedding_calls=("embed.py:3 openai",))
    provider = outcome(check_contract(settings, "c", contract=contract, caller_env={}), "command reaches the provider")
    assert provider.status == UNPROVEN


def test_database_apis_are_named_only_where_no_postgres_setting_is_read():
    """The one rule scope and profile init share: a Supabase URL beside a DSN is not how the command writes."""
    from harness.locate.contract import Contract

    assert Contract(reads_env=("NEXT_PUBLIC_SUPABASE_URL", "OPENAI_KEY")).database_apis() == ("NEXT_PUBLIC_SUPABASE_URL",)
    assert Contract(reads_env=("SUPABASE_URL", "DATABASE_URL")).database_apis() == ()
    assert Contract(reads_env=("VITE_SUPABASE_URL",), hardcoded_urls=("postgresql://u@h/db",)).database_apis() == ()
    assert Contract(reads_env=("SUPABASE_DB_URL",)).database_apis() == ()  # a Postgres DSN, named for Supabase


def test_an_openai_sdk_client_given_no_url_fails_until_its_sdks_base_url_variable_points_at_the_provider():
    """openai>=1 and openai-node>=4 read OPENAI_BASE_URL themselves (vercel's seed: `new OpenAI()`): mapped to the
    provider's OpenAI-compatible API it reaches the provider; unset it calls api.openai.com."""
    from harness.locate.contract import Contract

    contract = Contract(reads_env=("OPENAI_API_KEY", "POSTGRES_URL"), embedding_calls=("lib/seed.ts:9 openai",),
                        openai_sdk=("lib/seed.ts:9 embeddings.create",))
    unset = outcome(check_contract(settings_for(None, "pnpm run db:seed"), "c", contract=contract, caller_env={}),
                    "command reaches the provider")
    assert unset.status == FAIL and "nothing sets it" in unset.found and "api.openai.com" in unset.found
    assert unset.expected.startswith('add backfill.env: {OPENAI_BASE_URL: "{provider_url}/v1"}')
    mapped = settings_for(None, "pnpm run db:seed", env={"OPENAI_BASE_URL": "{provider_url}/v1"})
    reached = outcome(check_contract(mapped, "c", contract=contract, caller_env={}), "command reaches the provider")
    assert reached.status == PASS and "OPENAI_BASE_URL" in reached.found


def test_python_openai_before_1_reads_openai_api_base():
    from harness.locate.contract import Contract

    contract = Contract(embedding_calls=("embed.py:3 openai",), openai_sdk=("embed.py:3 openai.Embedding.create",))
    assert contract.openai_base_url() == "OPENAI_API_BASE"
    assert Contract(embedding_calls=("a.ts:1 openai", "b.py:2 ollama-client"),
                    openai_sdk=("a.ts:1 embeddings.create",)).openai_base_url() is None  # another embedder too


def test_a_command_that_makes_newlines_spaces_before_embedding_says_where():
    """nextjs-openai-doc-search embeds `content.replace(/\\n/g, ' ')`: the draft's chunks.text_newlines comes from it."""
    from harness.locate.contract import command_contract

    fixture = FIXTURES / "ts-supabase-docs-checksum"
    contract = command_contract("pnpm run embeddings", fixture, fixture)
    assert contract.newlines_to_spaces == ("lib/generate.ts:15",)


# -- the task prefix the command puts before what it embeds (chunks.text_prefix) -----------------------------------

def _prefixed(prefix: str, found: tuple[tuple[str, str], ...]):
    from harness.locate.contract import Contract

    profile = parse_profile("name: t\nprovider: {model: nomic-embed-text, dimensions: 768, url: 'http://gpu-box:11434'}\n"
                            f"chunks: {{table: notes, collection_name: notes, text_prefix: {prefix!r}}}\n"
                            "embeddings: {vector: embedding}\nbackfill: {command: python ingest.py}\n", env={})
    contract = Contract(reads_env=("OLLAMA_HOST", "DATABASE_URL", "EMBEDDING_MODEL"), files=("ingest.py",),
                        task_prefixes=found)
    return check_contract(resolve(profile, env={"DATABASE_URL": DSN}), "notes", contract=contract, caller_env={})


def test_a_command_that_puts_a_task_prefix_the_profile_leaves_out_fails_naming_the_key():
    """Its vectors are of `search_document: ` + text: the engine and recompute would embed the bare text."""
    result = _prefixed("", (("search_document: ", "ingest.py:4"),))
    prefix = outcome(result, "command embeds the profile's text")
    assert prefix.status == FAIL and not result.ok
    assert "'search_document: ' before what it embeds (ingest.py:4)" in prefix.found
    assert prefix.expected == "chunks.text_prefix: 'search_document: ' in the profile"


def test_a_command_that_puts_the_profiles_prefix_before_its_texts_passes():
    result = _prefixed("search_document: ", (("search_query: ", "ingest.py:9"), ("search_document: ", "ingest.py:4")))
    assert outcome(result, "command embeds the profile's text").status == PASS


def test_a_profile_prefix_the_command_shows_no_sign_of_is_unproven_not_passed():
    result = _prefixed("passage: ", ())
    prefix = outcome(result, "command embeds the profile's text")
    assert prefix.status == UNPROVEN and "puts no task prefix locate can see" in prefix.note


def test_no_task_prefix_on_either_side_adds_no_check():
    assert not [o for o in _prefixed("", ()).outcomes if o.check == "command embeds the profile's text"]


def test_a_command_importing_the_applications_package_reads_the_settings_classes_it_defines():
    """cognee: `import cognee; await cognee.cognify()` reaches its settings (pydantic BaseSettings deep in the
    package, read from the environment when the pipeline first asks) through registries, never an import near the
    script: they are the command's contract too; a method's `else:` or `try:` in such a class is no setting."""
    from harness.locate.contract import command_contract

    contract = command_contract("python reingest.py", FIXTURES / "py-package-settings")
    assert {"EMBEDDING_MODEL", "EMBEDDING_ENDPOINT", "EMBEDDING_DIMENSIONS", "DB_HOST", "LLM_API_KEY"} <= set(
        contract.reads_env), contract.reads_env
    assert not {"ELSE", "TRY", "FINALLY", "IF"} & set(contract.reads_env)
    assert contract.backfill_env() == {
        "EMBEDDING_MODEL": "{model}", "EMBEDDING_DIMENSIONS": "{dimensions}",
        "EMBEDDING_ENDPOINT": "{provider_url}/api/embed",
        "DB_HOST": "{database_host}", "DB_PORT": "{database_port}", "DB_USERNAME": "{database_user}",
        "DB_PASSWORD": "{database_password}", "DB_NAME": "{database_name}"}


def test_a_command_reading_a_language_models_settings_is_never_said_to_need_only_the_embedder():
    """What cognify needs besides the embedder (an LLM for extraction and summaries) is not served here: scope says
    so, unproven, naming the settings and the way out (--engine)."""
    from harness.locate.contract import command_contract

    env = command_contract("python reingest.py", FIXTURES / "py-package-settings").backfill_env()
    result = check_contract(settings_for("py-package-settings", "python reingest.py", env=env), "c", caller_env={})
    llm = outcome(result, "command needs only the embedder")
    assert llm.status == UNPROVEN and result.ok
    assert "LLM_PROVIDER, LLM_MODEL, LLM_ENDPOINT, LLM_API_KEY" in llm.note and "--engine" in llm.note, llm.note
    plain = check_contract(settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py"), "c", caller_env={})
    assert not [o for o in plain.outcomes if o.check == "command needs only the embedder"]


def test_a_provider_setting_that_takes_ollamas_endpoint_url_is_given_the_endpoint_not_the_base_url():
    """cognee posts to EMBEDDING_ENDPOINT as it is; its .env.template's Ollama block says
    `http://localhost:11434/api/embed`. Our base URL there would post to `/`: scope fails it and says the mapping."""
    from harness.locate.contract import command_contract

    contract = command_contract("python reingest.py", FIXTURES / "py-package-settings")
    assert contract.endpoint_paths == (("EMBEDDING_ENDPOINT", "/api/embed", ".env.template"),)
    good = {**contract.backfill_env()}
    ok = check_contract(settings_for("py-package-settings", "python reingest.py", env=good), "c", caller_env={})
    assert outcome(ok, "command reaches the provider").status == PASS
    bare = {**good, "EMBEDDING_ENDPOINT": "{provider_url}"}
    result = check_contract(settings_for("py-package-settings", "python reingest.py", env=bare), "c", caller_env={})
    provider = outcome(result, "command reaches the provider")
    assert provider.status == FAIL and not result.ok
    assert provider.expected == 'add backfill.env: {EMBEDDING_ENDPOINT: "{provider_url}/api/embed"} to the profile'
    assert "the embedding endpoint's full URL (/api/embed in .env.template)" in provider.found, provider.found


def test_scope_states_a_long_contract_with_the_names_ours_to_set_first_and_a_count_of_the_rest():
    """A command reading a whole package's settings (cognee's: hundreds) is stated in a line a person can read."""
    from harness.locate.contract import Contract

    contract = Contract(reads_env=tuple(f"OTHER_{i}" for i in range(30)) + ("EMBEDDING_MODEL", "DB_HOST"))
    said = contract.text(most=5)
    assert said.startswith("reads env EMBEDDING_MODEL, DB_HOST, OTHER_0, OTHER_1, OTHER_2, and 27 more"), said
    assert contract.text().count(",") == 31


def test_a_parameters_default_url_is_not_a_hard_coded_address():
    """Haystack's `OllamaDocumentEmbedder(..., url: str = "http://localhost:11434")`: the caller passes its own (the
    app's script gives OLLAMA_URL); a module's constant stays hard-coded."""
    from harness.locate.contract import read_contract

    text = ('class OllamaDocumentEmbedder:\n'
            '    def __init__(\n'
            '        self,\n'
            '        model: str = "nomic-embed-text",\n'
            '        url: str = "http://localhost:11434",\n'
            '    ) -> None:\n'
            '        self.url = url\n\n\n'
            'def embed(texts, host="http://localhost:11434"):\n'
            '    return texts\n\n\n'
            'HOST = "http://ollama:11434"\n')
    assert read_contract("document_embedder.py", text).hardcoded_urls == ("http://ollama:11434",)


def test_a_url_quoted_inside_another_string_is_prose_not_a_hard_coded_url():
    """PrivateGPT's settings: `Field("http://localhost:11434", description="... Example: 'https://localhost:11434'.")`:
    the example in the description is text, never an address the code connects to."""
    from harness.locate.contract import read_contract

    text = ('class OllamaSettings(BaseModel):\n    api_base: str = Field(\n        "http://localhost:11434",\n'
            '        description="Base URL of Ollama API. Example: \'https://localhost:11434\'.",\n    )\n')
    assert read_contract("settings.py", text).hardcoded_urls == ("http://localhost:11434",)


@pytest.mark.parametrize("name", ["AZURE_STORAGE_CONNECTION_STRING", "AZURE_SERVICEBUS_CONNECTION_STRING",
                                  "EMBEDDING_CACHE_EVICTION_BATCH", "EMBEDDING_CACHE_MAX_TOTAL_MB"])
def test_settings_of_a_blob_store_a_message_bus_or_an_embedding_cache_carry_none_of_ours(name):
    """SurfSense's scripts read AZURE_STORAGE_CONNECTION_STRING (its file store: our DSN, password included, given to it
    was a leak) and EMBEDDING_CACHE_EVICTION_BATCH (how many cached sets one eviction deletes, not an embedding batch)."""
    from harness.locate.config import placeholder_for

    assert placeholder_for(name) is None


def test_a_command_embedding_through_the_ai_sdk_ollama_providers_default_fails_to_reach_another_provider(tmp_path):
    """``ollama-ai-provider``'s default ``ollama`` reads no environment: the command posts to 127.0.0.1:11434, never to
    the profile's provider elsewhere; said as a hard-coded address, with how to serve there."""
    (tmp_path / "package.json").write_text('{"name": "r", "scripts": {"embed": "tsx embed.ts"}}')
    (tmp_path / "embed.ts").write_text(
        "import { ollama } from 'ollama-ai-provider';\nimport { embedMany } from 'ai';\n"
        "const db = process.env.DATABASE_URL;\n"
        "const { embeddings } = await embedMany({ model: ollama.embedding('all-minilm'), values: ['a'] });\n")
    result = check_contract(settings_for(str(tmp_path), "npm run embed"), "c", caller_env={})
    provider = outcome(result, "command reaches the provider")
    assert provider.status == FAIL, provider
    assert provider.found.startswith("the command hard-codes http://127.0.0.1:11434/api while the provider is "
                                     "http://gpu-box:11434"), provider.found
    assert "serve-embeddings --port 11434" in provider.expected


def test_a_model_flag_given_another_model_fails_and_one_given_ours_passes():
    """`--model snowflake-arctic-embed:22m` on the command line is the model the command embeds with: the check passed
    any `--model` whatever its value (study-pg-hybrid-search's `embed_documents.py --model M`)."""
    other = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py --model snowflake-arctic-embed:22m")
    model = outcome(check_contract(other, "c", caller_env={}), "command uses the model")
    assert model.status == FAIL, model
    assert "the command is given --model snowflake-arctic-embed:22m while the profile's model is all-minilm" in model.found
    ours = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py --model=all-minilm:latest")
    model = outcome(check_contract(ours, "c", caller_env={}), "command uses the model")
    assert model.status == PASS and model.found == "it is given --model all-minilm:latest", model


def test_a_model_flag_given_a_variable_is_unproven():
    settings = settings_for("py-sqlalchemy-dsn", "python scripts/reembed.py --model $MODEL")
    model = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert model.status == UNPROVEN and "given --model $MODEL, whose value locate cannot read" in model.note, model


@pytest.mark.parametrize("model, status, found", [
    ("nomic-embed-text:v1.5", PASS, "its --model defaults to nomic-embed-text:v1.5"),
    ("snowflake-arctic-embed:22m", FAIL, "the command is not given --model, which defaults to nomic-embed-text:v1.5, "
                                         "while the profile's model is snowflake-arctic-embed:22m"),
])
def test_a_model_flag_not_given_is_its_literal_default(model, status, found):
    """study-pg-hybrid-search's `embed_documents.py` embeds `--model`'s default, nomic-embed-text:v1.5, unless told:
    the check said `the command reads no model setting that locate can see` (unproven) for any profile model."""
    settings = settings_for("py-model-flag", "python scripts/embed_documents.py", model=model,
                            env={"OLLAMA_URL": "{provider_url}", "DATABASE_URL": "{database_url}"})
    result = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert result.status == status and found in result.found, result


@pytest.mark.parametrize("given, status", [("-m snowflake-arctic-embed:22m", FAIL), ("-m all-minilm", PASS)])
def test_a_model_flags_short_alias_given_on_the_command_line_is_the_model_it_embeds(tmp_path, given, status):
    """`-m M` is `--model M` to argparse: the check read only long flags and passed on `--model`'s default, the
    profile's model, while the command embedded with M."""
    (tmp_path / "embed.py").write_text(
        "import argparse, os\nap = argparse.ArgumentParser()\n"
        "ap.add_argument('-m', '--model', default='all-minilm')\n"
        "ap.add_argument('--ollama-url', default=os.environ.get('OLLAMA_HOST'))\n"
        "ap.add_argument('--dsn', default=os.environ.get('DATABASE_URL'))\n")
    settings = settings_for(str(tmp_path), f"python -m embed {given}")
    result = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert result.status == status, result


def test_a_chat_models_flag_beside_an_embedding_model_flag_is_not_the_embedders(tmp_path):
    """A script that chats with `--model` and embeds with `--embed-model`: `--model llama3.2` named no embedding model,
    and the check failed it as the command's embedding model."""
    (tmp_path / "ingest.py").write_text(
        "import argparse, os\nap = argparse.ArgumentParser()\n"
        "ap.add_argument('--model', default='llama3.2', help='chat model for summaries')\n"
        "ap.add_argument('--embed-model', default='all-minilm')\n"
        "ap.add_argument('--ollama-url', default=os.environ.get('OLLAMA_HOST'))\n"
        "ap.add_argument('--dsn', default=os.environ.get('DATABASE_URL'))\n")
    settings = settings_for(str(tmp_path), "python ingest.py --model llama3.2")
    result = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert result.status == PASS and result.found == "its --embed-model defaults to all-minilm", result


@pytest.mark.parametrize("declaration", [
    "program.option('-m, --model <name>', 'embedding model', 'nomic-embed-text')",
    "yargs(hideBin(process.argv)).option('model', {alias: 'm', type: 'string', default: 'nomic-embed-text'})",
    "parseArgs({options: {model: {type: 'string', short: 'm', default: 'nomic-embed-text'}}})",
])
def test_a_js_scripts_model_flag_with_a_short_name_and_a_default_is_read_as_argparses(declaration):
    """commander's `-m, --model <name>`, yargs' `alias: 'm'`, node's parseArgs `short: 'm'`: the flag, its short name
    and its default, as argparse's `'-m', '--model', default=...` are read (JS flags were read without either)."""
    from harness.locate.contract import read_contract

    contract = read_contract("scripts/embed.ts", declaration + ";\n")
    assert "--model" in contract.flags, contract.flags
    assert contract.flag_defaults == (("--model", "nomic-embed-text"),), contract
    assert contract.flag_aliases == (("-m", "--model"),), contract


@pytest.mark.parametrize("given, status", [("", FAIL), (" -m snowflake-arctic-embed:22m", FAIL), (" -m all-minilm", PASS)])
def test_a_js_scripts_model_flag_is_the_model_it_embeds_given_or_by_default(tmp_path, given, status):
    """A commander script run without `-m` embeds its default, nomic-embed-text, and with `-m M` embeds M: the check
    said the command reads no model setting it can see (unproven) either way."""
    (tmp_path / "embed.ts").write_text(
        "import { program } from 'commander';\n"
        "program.option('-m, --model <name>', 'embedding model', 'nomic-embed-text').parse();\n"
        "const db = process.env.DATABASE_URL;\nconst host = process.env.OLLAMA_HOST;\n")
    settings = settings_for(str(tmp_path), f"npx tsx embed.ts{given}")
    result = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert result.status == status, result


@pytest.mark.parametrize("command, status", [("npm run embed --model all-minilm", FAIL),
                                             ("npm run embed -- --model all-minilm", PASS),
                                             ("pnpm run embed --model all-minilm", PASS)])
def test_a_flag_before_npm_runs_double_dash_is_npms_own_not_the_scripts(tmp_path, command, status):
    """npm takes the flags after a script's name as its own configuration unless `--` comes first (pnpm passes them
    on): `npm run embed --model all-minilm` runs the script on its default model, and the check passed it as given."""
    (tmp_path / "package.json").write_text('{"name": "r", "scripts": {"embed": "tsx embed.ts"}}')
    (tmp_path / "embed.ts").write_text(
        "import { program } from 'commander';\n"
        "program.option('-m, --model <name>', 'embedding model', 'nomic-embed-text').parse();\n"
        "const db = process.env.DATABASE_URL;\nconst host = process.env.OLLAMA_HOST;\n")
    result = outcome(check_contract(settings_for(str(tmp_path), command), "c", caller_env={}), "command uses the model")
    assert result.status == status, result


def test_a_command_that_starts_a_server_fails_before_it_runs(tmp_path):
    """run waits for the command to exit: a server would hold it until backfill.timeout_s, serving meanwhile against
    the database it is given."""
    (tmp_path / "main.py").write_text("import os\n\nimport uvicorn\n\nDSN = os.environ['DATABASE_URL']\n\n"
                                      "if __name__ == '__main__':\n    uvicorn.run('main:app')\n")
    result = check_contract(settings_for(str(tmp_path), "python main.py"), "c", caller_env={})
    check = outcome(result, "command runs to completion")
    assert check.status == FAIL and not result.ok
    assert check.found.startswith("it starts a server (uvicorn.run at main.py:8) and never exits: run would wait for "
                                  "it until backfill.timeout_s"), check.found


def test_a_server_whose_contract_is_unknown_still_fails_for_never_exiting(tmp_path):
    result = check_contract(settings_for(str(tmp_path), "uvicorn app.main:app --port 8000"), "c", caller_env={})
    assert outcome(result, "contract").status == UNPROVEN
    assert outcome(result, "command runs to completion").status == FAIL and not result.ok


def test_a_command_given_its_embedders_model_name_passes_though_its_chat_clients_bare_name_is_not_given(tmp_path):
    """Recallr's `go run ./cmd/recallr ingest`: the embedder reads OLLAMA_MODEL_EMB, the chat client OLLAMA_MODEL.
    Given the first, the command embeds with the profile's model (scope refused it, asking for OLLAMA_MODEL)."""
    files = {"go.mod": "module example.com/app\n",
             "cmd/recallr/main.go": 'package main\n\nimport (\n\t"os"\n\t"github.com/spf13/cobra"\n)\n\nfunc main() {\n'
                                    '\t_ = os.Getenv("OLLAMA_MODEL")\n\t_ = os.Getenv("DATABASE_URL")\n'
                                    '\troot := &cobra.Command{Use: "app"}\n\t_ = root.Execute()\n}\n',
             "cmd/recallr/ingest.go": 'package main\n\nimport (\n\t"os"\n\t"github.com/spf13/cobra"\n)\n\n'
                                      'var ingest = &cobra.Command{Use: "ingest"}\n'
                                      'var m = os.Getenv("OLLAMA_MODEL_EMB")\n'}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    settings = settings_for(str(tmp_path), "go run ./cmd/recallr ingest",
                            env={"OLLAMA_MODEL_EMB": "{model}", "DATABASE_URL": "{database_url}"})
    model = outcome(check_contract(settings, "c", caller_env={}), "command uses the model")
    assert model.status == PASS and "OLLAMA_MODEL_EMB" in model.found, model


INGEST_GO = ('package main\n\nimport (\n\t"os"\n\t"github.com/jackc/pgx/v5"\n)\n\nfunc main() {\n'
             '\turl := os.Getenv("DATABASE_URL")\n\t_ = os.Getenv("OLLAMA_HOST")\n\tconn, _ := pgx.Connect(ctx, url)\n'
             '\tvec := embed(chunk)\n'
             '\tconn.Exec(ctx, `INSERT INTO document_chunks (collection, content)\n\t\tVALUES ($1, $2)%s`, c, chunk)\n}\n'
             '\nfunc embed(t string) []float32 {\n\treq, _ := http.NewRequest("POST", host+"/api/embed", body)\n'
             '\treturn nil\n}\n')


def _ingest(tmp_path, statement_tail: str = "", more: str = ""):
    (tmp_path / "go.mod").write_text("module example.com/app\n")
    (tmp_path / "main.go").write_text(INGEST_GO % statement_tail + more)
    return settings_for(str(tmp_path), "go run .", env={"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}"})


def test_a_command_that_inserts_the_chunks_again_fails_scope_as_no_backfill_in_place(tmp_path):
    """Recallr's `ingest`: it inserts each file's note and chunks, whatever is stored; run by `run`, every text was
    there twice afterwards (and nothing said so before it ran)."""
    check = outcome(check_contract(_ingest(tmp_path), "c", caller_env={}), "command backfills in place")
    assert check.status == FAIL, check
    assert check.found.startswith("it only adds rows (INSERT INTO document_chunks at main.go:13, no upsert, UPDATE or "
                                  "DELETE of it) and updates none: it re-embeds no row there is, and adds a second row "
                                  "for each text it inserts again"), check.found


@pytest.mark.parametrize("tail, more", [
    (" ON CONFLICT (collection, content) DO UPDATE SET content = excluded.content", ""),
    ("", '\nconst wipe = "DELETE FROM document_chunks WHERE collection = $1"\n'),
    ("", '\nconst wipe = `TRUNCATE public."document_chunks"`\n'),
    ("", '\nconst fill = "UPDATE document_chunks SET embedding = $1 WHERE id = $2"\n'),
])
def test_an_insert_beside_an_upsert_update_or_delete_of_its_table_is_a_backfill(tmp_path, tail, more):
    result = check_contract(_ingest(tmp_path, tail, more), "c", caller_env={})
    assert "command backfills in place" not in [o.check for o in result.outcomes], result.outcomes


def test_a_provider_setting_that_takes_ollamas_base_url_with_its_api_prefix_is_given_the_prefix():
    """A client posting to `embed` under its URL (NeuronAI's OllamaEmbeddingsProvider, `${OLLAMA_API}/embed`) takes
    Ollama's base URL with `/api` (its default `http://localhost:11434/api`): our bare base URL would post to
    `/embed`, a 404. The draft maps the prefix, and scope fails the bare mapping saying it."""
    from harness.locate.contract import command_contract

    contract = command_contract("python reembed.py", FIXTURES / "py-ollama-api-base")
    assert contract.endpoint_paths == (("OLLAMA_API", "/api", "a default in code"),), contract.endpoint_paths
    assert contract.backfill_env()["OLLAMA_API"] == "{provider_url}/api", contract.backfill_env()
    bare = {**contract.backfill_env(), "OLLAMA_API": "{provider_url}"}
    result = check_contract(settings_for("py-ollama-api-base", "python reembed.py", env=bare), "c", caller_env={})
    provider = outcome(result, "command reaches the provider")
    assert provider.status == FAIL
    assert provider.expected == 'add backfill.env: {OLLAMA_API: "{provider_url}/api"} to the profile', provider.expected
    assert "OLLAMA_API under Ollama's path (/api in a default in code)" in provider.found, provider.found


UPSERT_PY = ('import os\nimport psycopg\nimport requests\n\n\ndef main():\n'
             '    conn = psycopg.connect(os.environ["DATABASE_URL"])\n'
             '    for id_, text in conn.execute("SELECT id, content FROM document_chunks"):\n'
             '        vec = requests.post(os.environ["OLLAMA_HOST"] + "/api/embed", json={"input": text}).json()\n'
             '        conn.execute(\n%s,\n            (id_, text, vec))\n')


@pytest.mark.parametrize("statement", [
    # Python's implicit concatenation, the usual way to wrap a long statement
    '            "INSERT INTO document_chunks (id, content, embedding) VALUES (%s, %s, %s) "\n'
    '            "ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding"',
    # or `+` between the literals
    '            "INSERT INTO document_chunks (id, content, embedding) VALUES (%s, %s, %s) " +\n'
    '            f"ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding"',
])
def test_an_upsert_wrapped_over_several_string_literals_is_a_backfill(tmp_path, statement):
    """The statement runs on past its first literal: its ON CONFLICT ... DO UPDATE in the next one made the upsert
    read as a plain INSERT, and scope failed a command that embeds every chunk in place."""
    (tmp_path / "backfill.py").write_text(UPSERT_PY % statement)
    settings = settings_for(str(tmp_path), "python backfill.py",
                            env={"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}"})
    result = check_contract(settings, "c", caller_env={})
    assert "command backfills in place" not in [o.check for o in result.outcomes], result.outcomes


CLI_PY = '''import os
import sys

import psycopg
import requests


def ingest(conn, folder):
    for name in os.listdir(folder):
        conn.execute("INSERT INTO document_chunks (collection, content) VALUES (%s, %s)", (name, open(name).read()))


def embed(conn):
    for id_, text in conn.execute("SELECT id, content FROM document_chunks").fetchall():
        vec = requests.post(os.environ["OLLAMA_HOST"] + "/api/embed", json={"input": text}).json()
        conn.execute(%s, (id_, vec))


if __name__ == "__main__":
    conn = psycopg.connect(os.environ["DATABASE_URL"])
    ingest(conn, sys.argv[2]) if sys.argv[1] == "ingest" else embed(conn)
'''


@pytest.mark.parametrize("write", [
    '"INSERT INTO document_embeddings (chunk_id, embedding) VALUES (%s, %s) "\n                     '
    '"ON CONFLICT (chunk_id) DO UPDATE SET embedding = EXCLUDED.embedding"',
    '"UPDATE document_embeddings SET embedding = %s WHERE chunk_id = %s"',
])
def test_a_command_beside_an_ingest_in_its_file_that_rewrites_the_stored_vectors_is_a_backfill(tmp_path, write):
    """One CLI module, `ingest` inserting chunks and `embed` rewriting every chunk's vector in the embedding table:
    `python cli.py embed` failed scope as 'only adds rows' for the INSERT of its sibling subcommand."""
    (tmp_path / "cli.py").write_text(CLI_PY.replace("conn.execute(%s,", f"conn.execute({write},"))
    settings = settings_for(str(tmp_path), "python cli.py embed",
                            env={"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}"})
    result = check_contract(settings, "c", caller_env={})
    assert "command backfills in place" not in [o.check for o in result.outcomes], result.outcomes


def test_a_command_that_inserts_chunks_and_only_inserts_their_vectors_still_fails_as_no_backfill_in_place(tmp_path):
    (tmp_path / "cli.py").write_text(CLI_PY.replace(
        "conn.execute(%s,", 'conn.execute("INSERT INTO document_embeddings (chunk_id, embedding) VALUES (%s, %s)",'))
    settings = settings_for(str(tmp_path), "python cli.py embed",
                            env={"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}"})
    assert outcome(check_contract(settings, "c", caller_env={}), "command backfills in place").status == FAIL
