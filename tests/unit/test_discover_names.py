"""Column roles read from names as an ORM writes them: snake_case and Prisma's quoted camelCase alike."""

from harness.discover import Column, Table, _pick, own_texts, snake, TENANT_NAMES, TEXT_NAMES


def prisma_table(*names: str) -> Table:
    columns = tuple(Column(n, "text", True, False, False) for n in names)
    return Table("public", "Insight", columns, ("id",), 6, False, False)


def test_camel_case_names_read_as_snake_case():
    assert [snake(n) for n in ("environmentId", "createdAt", "contentHash", "user_id", "URL", "chunkV2Id")] == [
        "environment_id", "created_at", "content_hash", "user_id", "url", "chunk_v2_id"]


def test_a_camel_case_foreign_key_is_no_text_the_table_holds_of_its_own():
    # formbricks' Insight: the cuid foreign key environmentId comes first, title and description are the text.
    table = prisma_table("id", "environmentId", "title", "description")
    assert own_texts(table) == ("description",)


def test_a_camel_case_owner_column_is_the_tenant():
    table = prisma_table("id", "organizationId", "content")
    assert _pick(table, TENANT_NAMES, role="tenant").column == "organizationId"
    assert _pick(table, TEXT_NAMES, role="text").column == "content"


def test_a_polymorphic_type_names_its_models_table_by_rails_and_laravel_convention():
    from harness.discover import model_table

    assert [model_table(t) for t in ("Text", "Qna", "Website", "Category", "Address", "Box", "BlogPost",
                                     "App\\Models\\Post", "Admin::Note", "Day")] == [
        "texts", "qnas", "websites", "categories", "addresses", "boxes", "blog_posts", "posts", "notes", "days"]
