"""locate reads a .NET application's embedder settings: an Ollama HTTP call whose model and URL are properties of an
options class (`IOptions<T>`), bound to a configuration section (`Configure<T>(...GetSection("S"))`) that
appsettings.json fills and the environment overrides as `S__Key`."""

from pathlib import Path

from harness.steps.locate import locate

OPTIONS = '''namespace Acme.Search;

public class EmbedderSettings
{
    public string Endpoint { get; set; } = "http://localhost:11434";
    public string Model { get; set; } = "nomic-embed-text";
}
'''

SERVICE = '''using System.Net.Http.Json;
using Microsoft.Extensions.Options;

namespace Acme.Search.Services;

/// Embeds through Ollama's HTTP API.
public class Embedder
{
    private readonly HttpClient _http;
    private readonly EmbedderSettings _settings;

    public Embedder(HttpClient http, IOptions<EmbedderSettings> settings)
    {
        _http = http;
        _settings = settings.Value;
    }

    public async Task<float[]> EmbedAsync(string text)
    {
        var request = new { model = _settings.Model, prompt = text };
        var response = await _http.PostAsJsonAsync($"{_settings.Endpoint}/api/embeddings", request);
        return (await response.Content.ReadFromJsonAsync<Reply>())!.Embedding;
    }

    private record Reply(float[] Embedding);
}
'''

PROGRAM = '''var builder = WebApplication.CreateBuilder(args);
builder.Services.Configure<EmbedderSettings>(builder.Configuration.GetSection("Embeddings"));
builder.Services.AddHttpClient<Embedder>();
'''

APPSETTINGS = '''{
  // comments are allowed here
  "Logging": { "LogLevel": { "Default": "Information" } },
  "Embeddings": {
    "Endpoint": "http://ollama:11434",
    "model": "mxbai-embed-large"
  }
}
'''


def app(tmp_path: Path, appsettings: str = APPSETTINGS) -> Path:
    for rel, text in (("src/Acme.Search/EmbedderSettings.cs", OPTIONS), ("src/Acme.Search/Services/Embedder.cs", SERVICE),
                      ("src/Acme.Api/Program.cs", PROGRAM), ("src/Acme.Api/appsettings.json", appsettings)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_the_model_and_url_of_an_options_class_are_its_appsettings_sections_with_their_environment_names(tmp_path):
    calls = locate(app(tmp_path)).embedding_calls
    assert [(c.path, c.kind, c.model, c.model_env, c.url, c.url_env) for c in calls] == [
        ("src/Acme.Search/Services/Embedder.cs", "ollama-http", "mxbai-embed-large", "Embeddings__Model",
         "http://ollama:11434", "Embeddings__Endpoint")], calls


def test_without_a_value_in_appsettings_the_options_class_default_is_the_model(tmp_path):
    calls = locate(app(tmp_path, '{"Embeddings": {"Endpoint": "http://ollama:11434"}}')).embedding_calls
    assert [(c.model, c.model_env, c.url, c.url_env) for c in calls] == [
        ("nomic-embed-text", "Embeddings__Model", "http://ollama:11434", "Embeddings__Endpoint")], calls


MIGRATION = '''using Microsoft.EntityFrameworkCore.Migrations;
using Pgvector;

namespace Acme.Search.Migrations
{
    public partial class WidenEmbedding : Migration
    {
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // widen from vector(768) to vector(1024)
            migrationBuilder.Sql("ALTER TABLE \\"Passages\\" ALTER COLUMN \\"Embedding\\" TYPE vector(1024);");

            migrationBuilder.AlterColumn<Vector>(
                name: "Embedding",
                table: "Passages",
                type: "vector(1024)",
                nullable: true,
                oldClrType: typeof(Vector),
                oldType: "vector(768)",
                oldNullable: true);
        }

        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("ALTER TABLE \\"Passages\\" ALTER COLUMN \\"Embedding\\" TYPE vector(768);");

            migrationBuilder.AlterColumn<Vector>(
                name: "Embedding",
                table: "Passages",
                type: "vector(768)",
                nullable: true,
                oldClrType: typeof(Vector),
                oldType: "vector(1024)",
                oldNullable: true);
        }
    }
}
'''


def test_an_ef_core_migration_declares_what_its_up_makes_not_its_comments_old_type_or_down(tmp_path):
    rel = "src/Acme.Data/Migrations/20251229231859_WidenEmbedding.cs"
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text(MIGRATION)
    found = locate(tmp_path)
    assert sorted((d.line, d.dimensions) for d in found.declarations) == [(11, 1024), (16, 1024)], found.declarations


ENTITY = '''using System.ComponentModel.DataAnnotations.Schema;
using Pgvector;

public class Passage
{
    [Column("body")]
    public required string Body { get; set; }

    [Column("embedding", TypeName = "vector(768)")]
    public Vector? Embedding { get; set; }
}
'''

SEARCH = '''using Pgvector.EntityFrameworkCore;

public class Search(AppDb db)
{
    public Task<List<Passage>> NearestAsync(Vector query) =>
        db.Passages.OrderBy(p => p.Embedding!.L2Distance(query)).Take(5).ToListAsync();
}
'''


def test_pgvector_ef_core_distance_helpers_say_the_distance_of_the_column_the_property_maps_to(tmp_path):
    for rel, text in (("src/Data/Passage.cs", ENTITY), ("src/Search.cs", SEARCH)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = locate(tmp_path)
    assert [(u.path, u.line, u.distance, u.kind, u.table, u.column) for u in found.distances] == [
        ("src/Search.cs", 6, "l2", "efcore", None, "embedding")], found.distances


CONTEXT = '''using Microsoft.EntityFrameworkCore;

public class AppDb(DbContextOptions<AppDb> options) : DbContext(options)
{
    public DbSet<Passage> Passages => Set<Passage>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasPostgresExtension("vector");
        modelBuilder.Entity<Passage>(entity =>
        {
            // entity.HasIndex(e => e.Embedding).HasMethod("ivfflat").HasOperators("vector_l2_ops");
            entity.HasIndex(e => e.Embedding)
                .HasMethod("hnsw")
                .HasOperators("vector_cosine_ops")
                .HasStorageParameter("m", 16);
            entity.HasIndex(e => e.Body);
        });
    }
}
'''

INDEX_MIGRATION = '''using Microsoft.EntityFrameworkCore.Migrations;

public partial class AddPassageIndex : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateIndex(
            name: "IX_passages_embedding",
            table: "passages",
            column: "embedding")
            .Annotation("Npgsql:IndexMethod", "hnsw")
            .Annotation("Npgsql:IndexOperators", new[] { "vector_ip_ops" });
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropIndex(name: "IX_passages_embedding", table: "passages");
        migrationBuilder.CreateIndex(name: "IX_passages_embedding", table: "passages", column: "embedding")
            .Annotation("Npgsql:IndexMethod", "hnsw")
            .Annotation("Npgsql:IndexOperators", new[] { "vector_l2_ops" });
    }
}
'''

SNAPSHOT = '''public partial class AppDbModelSnapshot : ModelSnapshot
{
    protected override void BuildModel(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity("Acme.Passage", b =>
        {
            b.HasIndex("Embedding");

            NpgsqlIndexBuilderExtensions.HasMethod(b.HasIndex("Embedding"), "hnsw");
            NpgsqlIndexBuilderExtensions.HasOperators(b.HasIndex("Embedding"), new[] { "vector_cosine_ops" });
        });
    }
}
'''


def test_an_ef_core_vector_index_says_its_distance_in_on_model_creating_a_migration_and_the_model_snapshot(tmp_path):
    """`HasIndex(e => e.Embedding).HasMethod("hnsw").HasOperators("vector_cosine_ops")`, a migration's CreateIndex
    `.Annotation("Npgsql:IndexOperators", new[] { "vector_ip_ops" })` and the snapshot's `HasOperators(b.HasIndex(
    "Embedding"), ...)`: each index's distance, on the column its property maps to (none was read: the profile's
    distance was a guess for an EF Core app); the index a migration's Down makes again is what a rollback restores."""
    for rel, text in (("src/Data/Passage.cs", ENTITY), ("src/Data/AppDb.cs", CONTEXT),
                      ("src/Data/Migrations/20250102000000_AddPassageIndex.cs", INDEX_MIGRATION),
                      ("src/Data/Migrations/AppDbModelSnapshot.cs", SNAPSHOT)):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = locate(tmp_path)
    assert [(u.path.rsplit("/", 1)[-1], u.line, u.distance, u.kind, u.table, u.column) for u in found.distances] == [
        ("AppDb.cs", 15, "cosine", "efcore-index", None, "embedding"),
        ("20250102000000_AddPassageIndex.cs", 12, "ip", "efcore-index", "passages", "embedding"),
        ("AppDbModelSnapshot.cs", 10, "cosine", "efcore-index", None, "embedding")], found.distances


def test_an_ef_core_index_a_later_migration_recreates_says_the_later_distance_and_designer_files_say_none(tmp_path):
    """A later migration drops the index and creates it again for L2: the first's inner product is no longer the
    column's. Each migration's `.Designer.cs` is the model as that migration left it (history): no index of now."""
    later = INDEX_MIGRATION.replace("AddPassageIndex", "IndexForL2").replace(
        '        migrationBuilder.CreateIndex(\n', '        migrationBuilder.DropIndex(name: "IX_passages_embedding", '
        'table: "passages");\n        migrationBuilder.CreateIndex(\n', 1).replace('"vector_ip_ops"', '"vector_l2_ops"', 1)
    folder = "src/Data/Migrations/"
    for rel, text in ((folder + "20250102000000_AddPassageIndex.cs", INDEX_MIGRATION),
                      (folder + "20250301000000_IndexForL2.cs", later),
                      (folder + "20250102000000_AddPassageIndex.Designer.cs", SNAPSHOT.replace("cosine", "ip"))):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = locate(tmp_path)
    assert [(u.path.rsplit("/", 1)[-1], u.distance, u.table, u.column) for u in found.distances] == [
        ("20250301000000_IndexForL2.cs", "l2", "passages", "embedding")], found.distances
