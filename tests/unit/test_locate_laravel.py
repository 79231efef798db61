"""locate reads a Laravel application: SQL in PHP's multi-line strings and heredocs, the Ollama HTTP call's model
(a parameter's default) and URL (a `config()` key the config folder fills from an env read), and the artisan
commands that embed."""

from pathlib import Path

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

class FillPassages extends Command
{
    protected $signature = 'passages:fill {--once} {--batch=64}';
    protected $description = 'Embed the passages waiting in the queue';

    public function handle(Embedder $embedder)
    {
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
