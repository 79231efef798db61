"""locate reads a Symfony application's service container: an embedding client the container builds from
config/services.yaml (no `new` in the code), its model and URL given as `%env(NAME)%` directly or through a
parameter."""

from pathlib import Path

import pytest

from harness.steps.locate import locate

SERVICES = '''parameters:
    app.embed_url: '%env(EMBED_URL)%'
    app.embed_model: '%env(string:EMBED_MODEL)%'
    app.page_size: 20

services:
    _defaults:
        autowire: true

    App\\:
        resource: '../src/'

    App\\Mailer\\Transport:
        arguments:
            $url: '%env(MAILER_URL)%'

    NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider:
        arguments:
            $model: '%app.embed_model%'
            $url: '%app.embed_url%'

    app.openai_embedder:
        class: NeuronAI\\RAG\\Embeddings\\OpenAIEmbeddingsProvider
        arguments:
            $key: '%env(OPENAI_KEY)%'
            $model: text-embedding-3-small

    App\\Search\\EmbeddingStore:
        arguments:
            $url: '%env(DATABASE_URL)%'
'''

USER = '''<?php
namespace App\\Command;

use NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider;

class Reindex
{
    public function __construct(private readonly OllamaEmbeddingsProvider $embedder) {}

    public function run(string $text): array
    {
        return $this->embedder->embedText($text);
    }
}
'''


def symfony_app(root: Path) -> Path:
    for rel, text in {"config/services.yaml": SERVICES, "src/Command/Reindex.php": USER,
                      ".env": "EMBED_URL=http://localhost:11434/api\nEMBED_MODEL=nomic-embed-text\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_an_embedding_client_the_container_builds_names_the_env_of_its_model_and_url(tmp_path):
    calls = {(c.path, c.line, c.kind, c.name, c.model, c.model_env, c.url_env)
             for c in locate(symfony_app(tmp_path)).embedding_calls if c.path == "config/services.yaml"}
    # the parameter each argument names, filled from the environment; a literal argument is the model itself; a
    # service of another kind (the mailer's URL) is no embedder, nor one keeping embeddings (a store)
    assert calls == {
        ("config/services.yaml", 17, "ollama-config", "NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider", None,
         "EMBED_MODEL", "EMBED_URL"),
        ("config/services.yaml", 22, "config", "NeuronAI\\RAG\\Embeddings\\OpenAIEmbeddingsProvider",
         "text-embedding-3-small", None, None)}, calls


IMPORTER = '''<?php
namespace App\\Command;

use App\\Entity\\Note;
use Doctrine\\ORM\\EntityManagerInterface;
use NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider;
use Symfony\\Component\\Console\\Attribute\\AsCommand;
use Symfony\\Component\\Console\\Command\\Command;

#[AsCommand(name: 'app:import-notes', description: 'Import notes with their embeddings')]
class ImportNotesCommand extends Command
{
    public function __construct(private EntityManagerInterface $em, private OllamaEmbeddingsProvider $embedder)
    {
        parent::__construct();
    }

    protected function execute($input, $output): int
    {
        foreach ($this->read() as $data) {
            $note = new Note();
            $note->setEmbedding($this->embedder->embedText($data['text']));
            $this->em->persist($note);
        }
        $this->em->flush();
        return Command::SUCCESS;
    }
}
'''

REEMBED = '''<?php
namespace App\\Command;

use App\\Repository\\NoteRepository;
use Doctrine\\ORM\\EntityManagerInterface;
use NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider;
use Symfony\\Component\\Console\\Attribute\\AsCommand;
use Symfony\\Component\\Console\\Command\\Command;

#[AsCommand('app:reembed-notes')]
class ReembedNotesCommand extends Command
{
    public function __construct(private EntityManagerInterface $em, private NoteRepository $notes,
                                private OllamaEmbeddingsProvider $embedder)
    {
        parent::__construct();
    }

    protected function execute($input, $output): int
    {
        foreach ($this->notes->findBy(['embedding' => null]) as $note) {
            $note->setEmbedding($this->embedder->embedText($note->getText()));
        }
        $this->em->flush();
        return Command::SUCCESS;
    }
}
'''

DOCTRINE = '''doctrine:
    dbal:
        url: '%env(resolve:DATABASE_URL)%'
'''


def symfony_commands(root: Path) -> Path:
    symfony_app(root)
    for rel, text in {"src/Command/ImportNotesCommand.php": IMPORTER, "src/Command/ReembedNotesCommand.php": REEMBED,
                      "config/packages/doctrine.yaml": DOCTRINE, "bin/console": "#!/usr/bin/env php\n<?php\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_console_command_given_the_containers_embedder_is_an_entrypoint_with_the_configurations_env(tmp_path):
    found = locate(symfony_commands(tmp_path))
    by_name = {e.name: e for e in found.entrypoints}
    assert {(e.kind, e.command) for e in found.entrypoints} == {
        ("symfony-command", "php bin/console app:import-notes"),
        ("symfony-command", "php bin/console app:reembed-notes")}, found.entrypoints
    reembed = by_name["app:reembed-notes"].contract
    # the configuration's %env()% (doctrine's URL, the provider's parameters), the base URL under Ollama's /api prefix
    # as .env gives it
    assert reembed.backfill_env() == {"DATABASE_URL": "{database_url}", "EMBED_URL": "{provider_url}/api",
                                      "EMBED_MODEL": "{model}"}, reembed.backfill_env()
    assert reembed.embedding_calls == ("config/services.yaml:17 ollama-config",) and not reembed.adds_only


def test_a_console_command_that_only_persists_new_entities_is_said_to_be_an_importer(tmp_path):
    importer = {e.name: e for e in locate(symfony_commands(tmp_path)).entrypoints}["app:import-notes"].contract
    assert importer.adds_only == ("it only adds rows (->persist at src/Command/ImportNotesCommand.php:23) and "
                                  "updates none: it re-embeds no row there is"), importer.adds_only


def test_the_contract_of_a_profiles_console_command_is_read_from_its_class(tmp_path):
    from harness.locate.contract import command_contract

    contract = command_contract("php bin/console app:reembed-notes", symfony_commands(tmp_path), tmp_path)
    assert contract.known and contract.files[0] == "src/Command/ReembedNotesCommand.php", contract
    assert not command_contract("php bin/console app:nothing", tmp_path, tmp_path).known


ENTITIES = '''<?php
namespace App\\Entity;

use Doctrine\\ORM\\Mapping as ORM;

#[ORM\\Entity]
#[ORM\\Table(name: 'courses', schema: 'mooc')]
class Course
{
    #[ORM\\Column(type: 'vector', precision: 768, nullable: true)]
    private ?array $embedding = null;

    #[ORM\\Column(type: Types::TEXT)]
    private ?string $summary = null;
}

/** @ORM\\Entity */
class NoteChunk
{
    /** @ORM\\Column(type="vector", length=384) */
    private $textEmbedding;
}
'''


def test_doctrine_entity_properties_mapped_to_a_vector_column_are_declarations(tmp_path):
    (tmp_path / "src/Entity").mkdir(parents=True)
    (tmp_path / "src/Entity/Course.php").write_text(ENTITIES)
    found = [(d.path, d.line, d.kind, d.table, d.column, d.dimensions) for d in locate(tmp_path).declarations]
    # the table ORM\Table names, in its schema; else the class's name and the property's as Symfony's underscore
    # naming strategy makes them
    assert found == [("src/Entity/Course.php", 10, "doctrine", "mooc.courses", "embedding", 768),
                     ("src/Entity/Course.php", 20, "doctrine", "note_chunk", "text_embedding", 384)], found


@pytest.mark.parametrize("loaded", [
    "$this->em->createQueryBuilder()->select('n')->from(Note::class, 'n')->where('n.embedding IS NULL')"
    "->getQuery()->getResult()",
    "$this->em->createQuery('SELECT n FROM App\\\\Entity\\\\Note n')->toIterable()",
    "$this->em->getRepository(Note::class)->matching($criteria)",
])
def test_a_command_that_persists_the_entities_it_loaded_updates_them(tmp_path, loaded):
    """A redundant persist() of an entity a query loaded (Doctrine updates it on flush) is no importer: the re-embed
    command was said to 'only add rows', and scope failed it as no backfill in place."""
    symfony_commands(tmp_path)
    (tmp_path / "src/Command/ReembedNotesCommand.php").write_text(REEMBED.replace(
        "foreach ($this->notes->findBy(['embedding' => null]) as $note) {\n"
        "            $note->setEmbedding($this->embedder->embedText($note->getText()));\n",
        f"foreach ({loaded} as $note) {{\n"
        "            $note->setEmbedding($this->embedder->embedText($note->getText()));\n"
        "            $this->em->persist($note);\n"))
    reembed = {e.name: e for e in locate(tmp_path).entrypoints}["app:reembed-notes"].contract
    assert "persist" in (tmp_path / "src/Command/ReembedNotesCommand.php").read_text()
    assert reembed.adds_only == "", reembed.adds_only
