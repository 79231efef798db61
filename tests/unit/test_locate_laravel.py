"""locate reads a Laravel application: SQL in PHP's multi-line strings and heredocs, the Ollama HTTP call's model
(a parameter's default) and URL (a `config()` key the config folder fills from an env read), and the artisan
commands that embed."""

from pathlib import Path

import pytest

from harness.locate.distances import scan
from harness.locate.files import language
from harness.steps.locate import locate

MIGRATION = '''<?php
return new class extends Migration {
    public function up(): void
    {
        DB::statement("ALTER TABLE passages ADD COLUMN embedding vector(768)");
        DB::statement("
            CREATE INDEX IF NOT EXISTS passages_embedding_idx
            ON passages USING hnsw (embedding vector_cosine_ops)
        ");
        DB::unprepared(<<<'SQL'
        CREATE OR REPLACE FUNCTION nearest(q vector(768)) RETURNS SETOF bigint LANGUAGE sql AS $$
          SELECT p.id FROM passages p
          ORDER BY p.embedding <-> q
          LIMIT 10
        $$;
        SQL);
    }
};
'''

SERVICE = '''<?php
namespace App\\Services;

use Illuminate\\Support\\Facades\\Http;

class Embedder
{
    public function embed(array $texts, string $model = 'nomic-embed-text'): array
    {
        $base = rtrim(config('services.ollama.url', 'http://localhost:11434'), '/');
        return Http::post($base . '/api/embed', ['model' => $model, 'input' => $texts])->json()['embeddings'];
    }
}
'''

SERVICES_CONFIG = '''<?php
return [
    'mailgun' => [
        'url' => env('MAILGUN_URL', 'https://api.mailgun.net'),
    ],
    'ollama' => [
        'url' => env('OLLAMA_URL', 'http://localhost:11434'),
    ],
];
'''

COMMAND = '''<?php
namespace App\\Console\\Commands;

use App\\Services\\Embedder;
use Illuminate\\Console\\Command;
use Illuminate\\Support\\Facades\\DB;

class FillPassages extends Command
{
    protected $signature = 'passages:fill {--once} {--batch=64}';
    protected $description = 'Embed the passages waiting in the queue';

    public function handle(Embedder $embedder)
    {
        $waiting = DB::table('passages')->whereNull('embedding')->limit(64)->get();
        return Command::SUCCESS;
    }
}
'''

OTHER_COMMAND = '''<?php
namespace App\\Console\\Commands;

use Illuminate\\Console\\Command;

class PruneSessions extends Command
{
    protected $signature = 'sessions:prune';

    public function handle()
    {
        return Command::SUCCESS;
    }
}
'''


def laravel_app(root: Path) -> Path:
    for rel, text in {"database/migrations/2025_01_01_000000_create_passages.php": MIGRATION,
                      "app/Services/Embedder.php": SERVICE, "config/services.php": SERVICES_CONFIG,
                      "app/Console/Commands/FillPassages.php": COMMAND,
                      "app/Console/Commands/PruneSessions.php": OTHER_COMMAND, "artisan": "#!/usr/bin/env php\n<?php\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_sql_in_a_php_multiline_string_and_a_nowdoc_says_its_distances():
    rel = "database/migrations/2025_01_01_000000_create_passages.php"
    found = [(u.distance, u.kind, u.table, u.column, u.line) for u in scan(rel, MIGRATION, language(rel))]
    assert found == [("cosine", "sql-index", "passages", "embedding", 8), ("l2", "sql", "passages", "embedding", 13)], found


def test_an_ollama_http_call_in_php_names_its_parameters_default_model_and_the_config_url(tmp_path):
    calls = {(c.path, c.kind, c.model, c.url, c.url_env) for c in locate(laravel_app(tmp_path)).embedding_calls}
    assert calls == {("app/Services/Embedder.php", "ollama-http", "nomic-embed-text", "http://localhost:11434",
                      "OLLAMA_URL")}, calls


def test_an_artisan_command_that_embeds_through_a_service_is_an_entrypoint(tmp_path):
    found = {(e.path, e.kind, e.command) for e in locate(laravel_app(tmp_path)).entrypoints}
    # a worker that loops until stopped unless given --once is drafted with it; a command that embeds nothing is none
    assert found == {("app/Console/Commands/FillPassages.php", "artisan-command", "php artisan passages:fill --once")}, found


BLUEPRINT = '''<?php
return new class extends Migration {
    public function up(): void
    {
        Schema::create('documents', function (Blueprint $table) {
            $table->id();
            $table->text('content');
            $table->vector('embedding', 1536)->nullable();
        });
        Schema::connection('pgsql')->table('chunks', function (Blueprint $t) {
            $t->halfvec('embedding_small', dimensions: 512)->nullable();
            $t->vector('embedding_env', env('EMBEDDING_DIMENSIONS', 768));
        });
    }

    public function down(): void
    {
        Schema::table('chunks', function (Blueprint $table) {
            $table->vector('embedding_small', 256)->nullable();
        });
    }
};
'''


def test_a_laravel_blueprint_declares_each_vector_column_of_its_table_and_nothing_in_down():
    from harness.locate.schema import scan as declarations

    rel = "database/migrations/2024_05_01_120000_create_documents.php"
    found = [(d.table, d.column, d.type, d.dimensions, d.dims_env, d.kind, d.line)
             for d in declarations(rel, BLUEPRINT, language(rel))]
    assert found == [("documents", "embedding", "vector", 1536, None, "laravel", 8),
                     ("chunks", "embedding_small", "halfvec", 512, None, "laravel", 11),
                     ("chunks", "embedding_env", "vector", 768, "EMBEDDING_DIMENSIONS", "laravel", 12)], found


def test_a_later_laravel_migration_of_the_same_year_supersedes_an_earlier_ones_column(tmp_path):
    # Laravel names migrations 2024_01_10_093000_x.php: the whole timestamp orders them, not its year alone
    folder = tmp_path / "database" / "migrations"
    folder.mkdir(parents=True)
    (folder / "2024_01_10_093000_create_documents.php").write_text(BLUEPRINT)
    (folder / "2024_03_02_080000_widen_documents.php").write_text(
        "<?php\nreturn new class extends Migration {\n    public function up(): void\n    {\n"
        "        Schema::table('documents', function (Blueprint $table) {\n"
        "            $table->vector('embedding', 3072)->nullable()->change();\n        });\n    }\n};\n")
    located = locate(tmp_path)
    assert sorted((d.path.rsplit("/", 1)[-1], d.dimensions) for d in located.declarations if d.table == "documents") == [
        ("2024_01_10_093000_create_documents.php", 1536), ("2024_03_02_080000_widen_documents.php", 3072)]
    assert 1536 not in located.declared_dimensions and 3072 in located.declared_dimensions, located.declared_dimensions


def test_pgvector_php_nearest_neighbors_says_its_distance_for_the_models_table():
    text = ('<?php\nnamespace App\\Models;\n\nuse Pgvector\\Laravel\\Distance;\nuse Pgvector\\Laravel\\HasNeighbors;\n\n'
            'class BlogPost extends Model\n{\n    use HasNeighbors;\n\n    public static function like($v)\n    {\n'
            '        return static::query()->nearestNeighbors(\'embedding\', $v, Distance::Cosine)->take(5)->get();\n'
            '    }\n\n    public function others()\n    {\n'
            '        return $this->nearestNeighbors(\'embedding\', Distance::InnerProduct)->take(5)->get();\n    }\n}\n')
    rel = "app/Models/BlogPost.php"
    assert [(u.distance, u.table, u.column, u.line) for u in scan(rel, text, language(rel))] == [
        ("cosine", "blog_posts", "embedding", 13), ("ip", "blog_posts", "embedding", 18)]


def test_a_later_laravel_migration_dropping_the_column_or_the_table_leaves_it_declared_no_more(tmp_path):
    folder = tmp_path / "database" / "migrations"
    folder.mkdir(parents=True)
    (folder / "2024_01_10_093000_create_documents.php").write_text(BLUEPRINT)
    (folder / "2024_02_01_000000_drop_old_vectors.php").write_text(
        "<?php\nreturn new class extends Migration {\n    public function up(): void\n    {\n"
        "        Schema::table('chunks', function (Blueprint $table) {\n"
        "            $table->dropColumn(['embedding_small', 'embedding_env']);\n        });\n"
        "        Schema::dropIfExists('documents');\n    }\n\n    public function down(): void\n    {\n"
        "        Schema::dropIfExists('chunks');\n    }\n};\n")
    located = locate(tmp_path)
    assert {(d.table, d.column) for d in located.declarations if d.dropped} == {
        ("documents", "embedding"), ("chunks", "embedding_small"), ("chunks", "embedding_env")}
    assert located.declared_dimensions == ()

    (folder / "2024_02_01_000000_drop_old_vectors.php").write_text(
        "<?php\nreturn new class extends Migration {\n    public function up(): void\n    {\n"
        "        Schema::table('chunks', function (Blueprint $table) {\n"
        "            $table->renameColumn('embedding_env', 'vec');\n        });\n    }\n\n"
        "    public function down(): void\n    {\n        Schema::dropIfExists('documents');\n    }\n};\n")
    located = locate(tmp_path)
    # renamed: gone under its old name; what down() drops is what a rollback undoes, not the schema
    assert {(d.table, d.column) for d in located.declarations if d.dropped} == {("chunks", "embedding_env")}


PRISM_CONFIG = '''<?php
return [
    'prism_server' => ['enabled' => env('PRISM_SERVER_ENABLED', false)],
    'providers' => [
        'openai' => ['url' => env('OPENAI_URL', 'https://api.openai.com/v1')],
        'ollama' => [
            'url' => env('OLLAMA_URL', 'http://localhost:11434'),
        ],
    ],
];
'''

CLIENTS = '''<?php
namespace App\\Services;

use OpenAI\\Laravel\\Facades\\OpenAI;
use Prism\\Prism\\Prism;
use Prism\\Prism\\Enums\\Provider;

class Vectors
{
    public function remote(string $text): array
    {
        return OpenAI::embeddings()->create([
            'model' => 'text-embedding-3-small',
            'input' => $text,
        ])->embeddings[0]->embedding;
    }

    public function local(string $text): array
    {
        return Prism::embeddings()
            ->using(Provider::Ollama, 'nomic-embed-text')
            ->fromInput($text)
            ->asEmbeddings()->embeddings[0]->embedding;
    }
}
'''


def test_openai_php_and_prism_embedding_calls_name_their_models_and_prisms_ollama_url(tmp_path):
    (tmp_path / "app" / "Services").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "app" / "Services" / "Vectors.php").write_text(CLIENTS)
    (tmp_path / "config" / "prism.php").write_text(PRISM_CONFIG)
    calls = {(c.line, c.kind, c.model, c.url, c.url_env) for c in locate(tmp_path).embedding_calls}
    assert calls == {(12, "openai", "text-embedding-3-small", None, None),
                     (20, "ollama-prism", "nomic-embed-text", "http://localhost:11434", "OLLAMA_URL")}, calls


DATABASE_CONFIG = '''<?php
return [
    'default' => env('DB_CONNECTION', 'sqlite'),
    'connections' => [
        'sqlite' => ['database' => env('DB_DATABASE', database_path('database.sqlite'))],
        'pgsql' => [
            'driver' => 'pgsql',
            'url' => env('DB_URL'),
            'host' => env('DB_HOST', '127.0.0.1'),
            'port' => env('DB_PORT', '5432'),
            'database' => env('DB_DATABASE', 'laravel'),
            'username' => env('DB_USERNAME', 'root'),
            'password' => env('DB_PASSWORD', ''),
        ],
    ],
];
'''


def test_an_artisan_commands_contract_is_the_env_its_config_keys_and_the_pgsql_connection_read(tmp_path):
    from harness.locate.contract import command_contract

    root = laravel_app(tmp_path)
    (root / "config" / "database.php").write_text(DATABASE_CONFIG)
    c = command_contract("php artisan passages:fill --once", root, root)
    assert c.known, c.reason
    assert set(c.reads_env) == {"OLLAMA_URL", "DB_CONNECTION", "DB_URL", "DB_HOST", "DB_PORT", "DB_DATABASE",
                                "DB_USERNAME", "DB_PASSWORD"}, c.reads_env
    assert ("OLLAMA_URL", "http://localhost:11434") in c.env_defaults and c.hardcoded_models == ("nomic-embed-text",)
    # DB_CONNECTION names a driver (pgsql, sqlite), never a DSN: a choice the app's .env makes, not ours to fill
    assert c.selectors == ("DB_CONNECTION",) and "DB_CONNECTION" not in c.backfill_env(), c.backfill_env()
    assert c.backfill_env()["OLLAMA_URL"] == "{provider_url}" and c.backfill_env()["DB_HOST"] == "{database_host}"
    assert c.given_flags == ("--once",) and "app/Services/Embedder.php" in c.files, c
    assert not command_contract("php artisan sessions:nothing", root, root).known




def test_a_dsn_default_in_laravels_database_config_keeps_no_password_in_the_contract(tmp_path):
    # config/database.php may default DB_URL to a whole DSN: its password is never a default we say or draft
    from harness.locate.contract import command_contract

    root = laravel_app(tmp_path)
    (root / "config" / "database.php").write_text(DATABASE_CONFIG.replace(
        "env('DB_URL')", "env('DB_URL', 'postgresql://app:hunter2@db:5432/app')"))
    c = command_contract("php artisan passages:fill --once", root, root)
    assert c.known, c.reason
    assert "DB_URL" in c.reads_env and "hunter2" not in repr(c.as_dict()) and "hunter2" not in repr(c.env_defaults), \
        c.env_defaults


def test_sql_a_laravel_migrations_down_runs_declares_and_removes_nothing(tmp_path):
    # down() is what a rollback runs: its SQL (DB::statement) restores the old column; the schema after up() is 3072
    from harness.locate.schema import superseded

    folder = tmp_path / "database" / "migrations"
    folder.mkdir(parents=True)
    (folder / "2024_01_10_093000_create_documents.php").write_text(BLUEPRINT)
    (folder / "2024_03_02_080000_widen_documents.php").write_text(
        "<?php\nreturn new class extends Migration {\n    public function up(): void\n    {\n"
        "        DB::statement('ALTER TABLE documents ALTER COLUMN embedding TYPE vector(3072)');\n"
        "        DB::statement('CREATE INDEX documents_embedding_idx ON documents USING hnsw (embedding vector_cosine_ops)');\n"
        "    }\n\n    public function down(): void\n    {\n"
        "        DB::statement('DROP INDEX documents_embedding_idx');\n"
        "        DB::statement('ALTER TABLE documents ALTER COLUMN embedding TYPE vector(1536)');\n"
        "        DB::statement('CREATE INDEX documents_embedding_idx ON documents USING hnsw (embedding vector_l2_ops)');\n"
        "        DB::statement('DROP TABLE IF EXISTS chunks');\n    }\n};\n")
    located = locate(tmp_path)
    old = superseded(located.declarations)
    assert {d.dimensions for d in located.declarations if d.table == "documents" and d not in old} == {3072}, \
        located.declarations
    assert {u.distance for u in located.distances if u.kind == "sql-index"} == {"cosine"}, located.distances
    assert not any(d.dropped for d in located.declarations if d.table == "chunks"), located.declarations


@pytest.mark.parametrize("setting, dims, env", [("(int) env('OLLAMA_EMBED_DIMENSIONS', 768)", 768, "OLLAMA_EMBED_DIMENSIONS"),
                                                ("1024", 1024, None)])
def test_a_blueprints_dimension_given_as_a_config_key_is_the_value_the_config_file_gives_it(tmp_path, setting, dims, env):
    """`$table->vector('embedding', config('services.ollama.dimensions'))`, `config/services.php` holding
    `'dimensions' => (int) env('OLLAMA_EMBED_DIMENSIONS', 768)`: the column is 768 wide unless the env says otherwise
    (its dimension was read as none); a key the file does not fill keeps its own default (`config('x.y', 384)`)."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "services.php").write_text(
        "<?php\nreturn [\n    'ollama' => [\n        'url' => env('OLLAMA_URL', 'http://localhost:11434'),\n"
        f"        'dimensions' => {setting}\n    ],\n];\n")
    folder = tmp_path / "database" / "migrations"
    folder.mkdir(parents=True)
    (folder / "2025_01_01_000000_create_chunks.php").write_text(
        "<?php\nreturn new class extends Migration {\n    public function up(): void\n    {\n"
        "        Schema::create('chunks', function (Blueprint $table) {\n"
        "            $table->vector('embedding', config('services.ollama.dimensions'));\n"
        "            $table->vector('summary_embedding', dimensions: config('services.summary.dimensions', 384));\n"
        "        });\n    }\n};\n")
    found = {(d.column, d.dimensions, d.dims_env) for d in locate(tmp_path).declarations}
    assert found == {("embedding", dims, env), ("summary_embedding", 384, None)}, found


CHAINED_PRISM = '''<?php
namespace App\\Services;

use Prism\\Prism\\Prism;
use Prism\\Prism\\Enums\\Provider;

class Chained
{
    public function embed(string $text): array
    {
        return Prism::embeddings()
            ->withClientOptions(['timeout' => 60])
            ->using(Provider::Ollama, 'mxbai-embed-large')
            ->fromInput($text)
            ->asEmbeddings()->embeddings[0]->embedding;
    }
}
'''


def test_a_prism_call_given_client_options_before_its_provider_names_its_model_and_url(tmp_path):
    """Prism's builder takes its options in any order: `embeddings()->withClientOptions([...])->using(Provider::Ollama,
    'model')` is the same call (it was not read: the provider had to follow `embeddings()` at once)."""
    (tmp_path / "app" / "Services").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "app" / "Services" / "Chained.php").write_text(CHAINED_PRISM)
    (tmp_path / "config" / "prism.php").write_text(PRISM_CONFIG)
    calls = {(c.line, c.kind, c.model, c.url, c.url_env) for c in locate(tmp_path).embedding_calls}
    assert calls == {(11, "ollama-prism", "mxbai-embed-large", "http://localhost:11434", "OLLAMA_URL")}, calls


IMPORT_COMMAND = '''<?php
namespace App\\Console\\Commands;

use App\\Models\\Passage;
use Illuminate\\Console\\Command;
use Prism\\Prism\\Enums\\Provider;
use Prism\\Prism\\Prism;

class ImportPassages extends Command
{
    protected $signature = 'import-passages';

    public function handle()
    {
        foreach (glob(config('services.import_directory').'/*.txt') as $file) {
            $text = file_get_contents($file);
            $response = Prism::embeddings()
                ->withClientOptions(['timeout' => 60])
                ->using(Provider::Ollama, 'mxbai-embed-large')
                ->fromInput($text)
                ->asEmbeddings();
            Passage::create(['embedding' => $response->embeddings[0]->embedding, 'content' => $text]);
        }
        return self::SUCCESS;
    }
}
'''


def prism_app(root: Path) -> Path:
    for rel, text in {"app/Console/Commands/ImportPassages.php": IMPORT_COMMAND, "config/prism.php": PRISM_CONFIG,
                      "config/database.php": DATABASE_CONFIG, "artisan": "#!/usr/bin/env php\n<?php\n",
                      "config/services.php": "<?php\nreturn [\n    'import_directory' => env('IMPORT_DIRECTORY', "
                                             "storage_path('app/imports')),\n];\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_an_artisan_command_embedding_through_prism_reads_the_ollama_url_prisms_config_fills(tmp_path):
    """Prism reads `config('prism.providers.ollama.url')` itself: the command reads OLLAMA_URL though its own files
    name no config key (the contract said nothing of the provider, and scope left `command reaches the provider`
    unproven)."""
    from harness.locate.contract import command_contract

    c = command_contract("php artisan import-passages", prism_app(tmp_path), tmp_path)
    assert c.known, c.reason
    assert "OLLAMA_URL" in c.reads_env and ("OLLAMA_URL", "http://localhost:11434") in c.env_defaults, c.reads_env
    assert c.backfill_env()["OLLAMA_URL"] == "{provider_url}", c.backfill_env()


def test_a_config_keys_env_read_with_a_computed_default_is_read_by_the_command(tmp_path):
    """`'import_directory' => env('IMPORT_DIRECTORY', storage_path('app/imports'))`: the command reads
    IMPORT_DIRECTORY (missed: only a literal default was read), with no default said."""
    from harness.locate.contract import command_contract

    c = command_contract("php artisan import-passages", prism_app(tmp_path), tmp_path)
    assert "IMPORT_DIRECTORY" in c.reads_env, c.reads_env
    assert not [d for n, d in c.env_defaults if n == "IMPORT_DIRECTORY"], c.env_defaults


DEMO_COMMAND = '''<?php
namespace App\\Console\\Commands;

use Illuminate\\Console\\Command;
use Prism\\Prism\\Enums\\Provider;
use Prism\\Prism\\Prism;

class TextEmbeddingCommand extends Command
{
    protected $signature = 'ollama:text-embed';

    public function handle()
    {
        $response = Prism::embeddings()
            ->using(Provider::Ollama, 'mxbai-embed-large')
            ->fromInput('Welcome to Spatula City!')
            ->asEmbeddings();
        $this->line(implode(', ', $response->embeddings[0]->embedding));
        return self::SUCCESS;
    }
}
'''


def test_an_artisan_command_that_embeds_and_keeps_nothing_is_no_backfill(tmp_path):
    """A demo printing a text's vector touches no database, whatever config/database.php holds: it keeps nothing, and
    the command that writes what it embeds is the backfill (the demo was drafted: its name says `embed`)."""
    root = prism_app(tmp_path)
    (root / "app/Console/Commands/TextEmbeddingCommand.php").write_text(DEMO_COMMAND)
    located = locate(root)
    demo = next(e for e in located.entrypoints if e.name == "ollama:text-embed")
    assert demo.keeps_nothing and not demo.may_embed, demo.contract
    assert located.best_entrypoint is not None and located.best_entrypoint.command == "php artisan import-passages", \
        located.entrypoints
    importer = located.best_entrypoint.contract
    assert importer is not None and importer.keeps, importer
    assert {"DB_HOST", "DB_PASSWORD"} <= set(importer.reads_env), importer.reads_env


def test_a_raw_order_by_of_an_eloquent_query_says_its_distance_on_the_models_table(tmp_path):
    """`Lyric::query()->orderByRaw('embedding <=> ?::vector', [$v])`: a fragment of SQL the builder takes (no SELECT
    or ORDER BY in the string: it was not read as SQL), on the table of the model the query starts from: its
    `$table`, else Laravel's convention."""
    (tmp_path / "app" / "Models").mkdir(parents=True)
    (tmp_path / "app" / "Models" / "Lyric.php").write_text(
        "<?php\nnamespace App\\Models;\n\nuse Illuminate\\Database\\Eloquent\\Model;\n\n"
        "class Lyric extends Model\n{\n    protected $table = 'song_lyrics';\n}\n")
    (tmp_path / "app" / "Models" / "Poem.php").write_text(
        "<?php\nnamespace App\\Models;\n\nuse Illuminate\\Database\\Eloquent\\Model;\n\nclass Poem extends Model\n{\n}\n")
    (tmp_path / "app" / "Search.php").write_text(
        "<?php\nnamespace App;\n\nuse App\\Models\\Lyric;\nuse App\\Models\\Poem;\n\nclass Search\n{\n"
        "    public function lyric(string $v)\n    {\n"
        "        return Lyric::query()\n            ->select(['id', 'name'])\n"
        "            ->orderByRaw('embedding <=> ?::vector', [$v])\n            ->first();\n    }\n\n"
        "    public function poem(string $v)\n    {\n"
        "        return Poem::whereNotNull('vec')->orderByRaw(\"vec <-> ?\", [$v])->limit(3)->get();\n    }\n}\n")
    found = {(u.path, u.line, u.distance, u.kind, u.table, u.column) for u in locate(tmp_path).distances}
    assert found == {("app/Search.php", 13, "cosine", "laravel", "song_lyrics", "embedding"),
                     ("app/Search.php", 19, "l2", "laravel", "poems", "vec")}, found


def test_an_artisan_command_that_only_creates_rows_is_no_backfill_of_the_rows_there(tmp_path):
    """An importer (`Passage::create([...])` for each file it reads, no update) adds rows and re-embeds none there is:
    its contract says so, and the draft leaves it out (it was drafted as the backfill); a command that also updates
    (`->update([...])`, `UPDATE ... SET`) is judged as before."""
    from harness.locate.contract import command_contract

    root = prism_app(tmp_path)
    c = command_contract("php artisan import-passages", root, root)
    assert c.adds_only == ("it only adds rows (Passage::create at app/Console/Commands/ImportPassages.php:22) and "
                           "updates none: it re-embeds no row there is"), c.adds_only
    assert c.as_dict()["adds_only"] == c.adds_only
    command = root / "app/Console/Commands/ImportPassages.php"
    command.write_text(command.read_text().replace(
        "Passage::create(['embedding' => $response->embeddings[0]->embedding, 'content' => $text]);",
        "Passage::where('path', $file)->update(['embedding' => $response->embeddings[0]->embedding]);"))
    assert command_contract("php artisan import-passages", root, root).adds_only == ""


RAG_COMMAND = '''<?php
namespace App\\Console\\Commands;

use App\\Models\\Passage;
use Illuminate\\Console\\Command;
use Prism\\Prism\\Enums\\Provider;
use Prism\\Prism\\Prism;

class AskCommand extends Command
{
    protected $signature = 'embed:ask {question}';

    public function handle()
    {
        $vector = Prism::embeddings()->using(Provider::Ollama, 'mxbai-embed-large')
            ->fromInput($this->argument('question'))->asEmbeddings()->embeddings[0]->embedding;
        $context = Passage::query()->orderByRaw('embedding <=> ?::vector', ['[' . implode(',', $vector) . ']'])->first();
        $answer = Prism::text()->using(Provider::Ollama, 'llama3.2')->withPrompt($context->content)->asText();
        $this->line($answer->text);
        return self::SUCCESS;
    }
}
'''


def test_an_artisan_command_that_searches_with_what_it_embeds_and_answers_with_a_language_model_is_no_backfill(tmp_path):
    """A RAG question (`embed:ask`: a prompt embedded, the nearest row searched, a language model asked) embeds a
    question, not a stored row: a candidate only, whatever its name says (it outranked the importer)."""
    root = prism_app(tmp_path)
    (root / "app/Console/Commands/AskCommand.php").write_text(RAG_COMMAND)
    located = locate(root)
    ask = next(e for e in located.entrypoints if e.name == "embed:ask")
    assert ask.contract is not None and ask.contract.answers == (
        "it searches by distance (<=> at app/Console/Commands/AskCommand.php:17) and asks a language model "
        "(Prism::text at app/Console/Commands/AskCommand.php:18): what it embeds is a question, not a stored row"), \
        ask.contract
    assert not ask.may_embed and f"{ask.contract.answers}: a candidate only" in located.text(), located.text()
    assert located.best_entrypoint is not None and located.best_entrypoint.name == "import-passages", located.entrypoints


@pytest.mark.parametrize("writes", [
    # a raw upsert: an INSERT whose conflict updates the row there is
    "DB::insert('INSERT INTO passages (path, embedding) VALUES (?, ?) ON CONFLICT (path) DO UPDATE SET embedding = "
    "excluded.embedding', [$file, $v]);",
    # an UPDATE whose table has an alias, beside a create
    "Passage::create(['path' => $file]); DB::statement('UPDATE passages AS p SET embedding = ? WHERE p.path = ?', [$v, $file]);",
    "Passage::create(['path' => $file]); DB::statement('UPDATE passages p SET embedding = ? WHERE p.path = ?', [$v, $file]);",
    # SQL's MERGE, beside a create
    "Passage::create(['path' => $file]); DB::statement('MERGE INTO passages p USING (SELECT ? AS path) s ON p.path = s.path "
    "WHEN MATCHED THEN UPDATE SET embedding = ?', [$file, $v]);",
    # Eloquent's saves and updates that throw or fire no events
    "$p = Passage::firstOrCreate(['path' => $file]); $p->embedding = $v; $p->saveOrFail();",
    "Passage::create(['path' => $file]); Passage::where('path', $file)->first()->updateQuietly(['embedding' => $v]);",
    "Passage::create(['path' => $file]); Passage::where('path', $file)->first()->updateOrFail(['embedding' => $v]);",
    # the key's row deleted and added again: replaced, as the engine itself replaces it
    "DB::table('passages')->where('path', $file)->delete(); Passage::create(['path' => $file, 'embedding' => $v]);",
    "DB::statement('DELETE FROM passages WHERE path = ?', [$file]); Passage::create(['path' => $file, 'embedding' => $v]);",
], ids=["on-conflict-do-update", "update-as-alias", "update-alias", "merge", "save-or-fail", "update-quietly",
        "update-or-fail", "delete-then-create", "sql-delete-then-create"])
def test_an_artisan_command_that_adds_rows_and_also_updates_them_is_not_said_to_only_add(tmp_path, writes):
    """An importer that also replaces the vector of a row there is re-embeds it: it may be the backfill (its upsert or
    aliased UPDATE was not read as a change, and the draft left the real backfill out)."""
    from harness.locate.contract import command_contract

    root = prism_app(tmp_path)
    command = root / "app/Console/Commands/ImportPassages.php"
    command.write_text(command.read_text().replace(
        "Passage::create(['embedding' => $response->embeddings[0]->embedding, 'content' => $text]);",
        "$v = $response->embeddings[0]->embedding;\n            " + writes))
    assert command_contract("php artisan import-passages", root, root).adds_only == ""


SUMMARISE_COMMAND = '''<?php
namespace App\\Console\\Commands;

use App\\Models\\Passage;
use Illuminate\\Console\\Command;
use Prism\\Prism\\Enums\\Provider;
use Prism\\Prism\\Prism;

class EmbedAndSummarise extends Command
{
    protected $signature = 'passages:embed';

    public function handle()
    {
        foreach (Passage::whereNull('summary')->cursor() as $passage) {
            $vector = Prism::embeddings()->using(Provider::Ollama, 'mxbai-embed-large')
                ->fromInput($passage->content)->asEmbeddings()->embeddings[0]->embedding;
            $passage->embedding = $vector;
            $near = Passage::query()->orderByRaw('embedding <=> ?::vector', ['[' . implode(',', $vector) . ']'])->limit(5)->get();
            $passage->summary = Prism::text()->using(Provider::Ollama, 'llama3.2')
                ->withPrompt($near->pluck('content')->implode("\\n"))->asText()->text;
            $passage->save();
        }
        return self::SUCCESS;
    }
}
'''


def test_a_batch_command_that_stores_the_vectors_it_embeds_and_summarises_with_a_language_model_answers_no_question(tmp_path):
    """`passages:embed` embeds each passage, stores its vector, and asks a language model to summarise its nearest
    ones: it searches by distance and asks a model, but what it embeds is a stored row, kept: a backfill, not a RAG
    question (it was said to answer one, a candidate only)."""
    root = prism_app(tmp_path)
    (root / "app/Console/Commands/EmbedAndSummarise.php").write_text(SUMMARISE_COMMAND)
    located = locate(root)
    job = next(e for e in located.entrypoints if e.name == "passages:embed")
    assert job.contract is not None and job.contract.answers == "", job.contract.answers
    assert job.may_embed


def test_an_importer_that_deletes_each_file_it_imported_still_only_adds_rows(tmp_path):
    from harness.locate.contract import command_contract

    root = prism_app(tmp_path)
    command = root / "app/Console/Commands/ImportPassages.php"
    command.write_text(command.read_text().replace(
        "'content' => $text]);", "'content' => $text]);\n            Storage::disk('local')->delete($file);"))
    assert command_contract("php artisan import-passages", root, root).adds_only.startswith("it only adds rows")


REEMBED_COMMAND = '''<?php
namespace App\\Console\\Commands;

use App\\Models\\Passage;
use Illuminate\\Console\\Command;
use Prism\\Prism\\Enums\\Provider;
use Prism\\Prism\\Prism;

class ReembedPassages extends Command
{
    protected $signature = 'passages:reembed';

    public function handle()
    {
        foreach (Passage::cursor() as $passage) {
            $passage->update(['embedding' => Prism::embeddings()->using(Provider::Ollama, 'mxbai-embed-large')
                ->fromInput($passage->content)->asEmbeddings()->embeddings[0]->embedding]);
        }
        return self::SUCCESS;
    }
}
'''


@pytest.mark.parametrize("then", ["import-passages", "embed:ask 'a smoke test'"], ids=["adds-only", "answers"])
def test_a_make_target_running_a_backfill_beside_another_command_is_judged_by_the_backfill(tmp_path, then):
    """`make embeddings` runs passages:reembed (it updates every passage's vector) and then an importer or a RAG smoke
    question: the target re-embeds the rows there are, whatever the other command alone would be (said of the whole
    target, it was left out of the draft)."""
    from harness.locate.contract import command_contract

    root = prism_app(tmp_path)
    (root / "app/Console/Commands/ReembedPassages.php").write_text(REEMBED_COMMAND)
    (root / "app/Console/Commands/AskCommand.php").write_text(RAG_COMMAND)
    (root / "Makefile").write_text(f"embeddings:\n\tphp artisan passages:reembed\n\tphp artisan {then}\n")
    c = command_contract("make embeddings", root, root)
    assert c.embedding_calls and (c.adds_only, c.answers) == ("", ""), c
