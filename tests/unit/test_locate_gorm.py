"""locate reads GORM models: a struct field tagged `gorm:"type:vector(N)"` (or typed pgvector-go's Vector) declares
a vector column on the table GORM names after the struct (or its TableName method), the column its field's."""

from harness.locate.schema import scan

BOOK_PART = '''package orm

import "github.com/pgvector/pgvector-go"

// BookPart represents the ORM entity for book_index table
type BookPart struct {
	ID        uint            `gorm:"primaryKey;autoIncrement"`
	BookID    uint            `gorm:"not null"`
	Content   string          `gorm:"not null"`
	Embedding pgvector.Vector `gorm:"type:vector(1024);not null"`
	Book      Book            `gorm:"foreignKey:BookID"`
}
'''


def declared(rel: str, text: str) -> list[tuple]:
    return [(d.line, d.dimensions, d.kind, d.table, d.column, d.type) for d in scan(rel, text, "other")]


def test_a_gorm_models_vector_field_declares_its_column_on_the_table_named_after_the_struct():
    """GORM's default naming: the struct's name in snake case, plural (BookPart: book_parts); the field's in snake
    case (a comment's "book_index" names nothing)."""
    assert declared("internal/orm/book_part.go", BOOK_PART) == [(10, 1024, "gorm", "book_parts", "embedding", "vector")]


def test_a_gorm_models_table_name_method_and_column_tag_name_the_table_and_column():
    text = '''package entity

import "chatserver-api/pkg/pgvector"

type Documents struct {
	Id         int64           `gorm:"column:id;primary_key;" json:"id"`
	Body       string          `gorm:"column:body" json:"body"`
	Embedding  pgvector.Vector `gorm:"column:embedding_v2" json:"embedding"`
}

func (Documents) TableName() string {
	return "embed.documents"
}
'''
    assert declared("internal/model/entity/documents.go", text) == [
        (8, None, "gorm", "embed.documents", "embedding_v2", "vector")]


def test_gorm_pluralizes_and_snake_cases_as_its_naming_strategy_does():
    text = '''package models

type Memory struct {
	ID             uint
	ChunkEmbedding []float32 `gorm:"type:halfvec(768)"`
}

type DocumentChunk struct {
	DocID     string
	Embedding *pgvector.Vector `json:"-" gorm:"type:vector(384)"`
}

type Box struct {
	Vec pgvector.Vector `gorm:"type:vector(3)"`
}
'''
    assert declared("models/models.go", text) == [
        (5, 768, "gorm", "memories", "chunk_embedding", "halfvec"),
        (10, 384, "gorm", "document_chunks", "embedding", "vector"),
        (14, 3, "gorm", "boxes", "vec", "vector")]


def test_a_go_struct_without_a_gorm_tag_declares_no_table():
    """pgvector-go's Vector in a plain struct (a row scanned with pgx) says nothing of a table."""
    text = 'package db\n\ntype Chunk struct {\n\tID        int64\n\tEmbedding pgvector.Vector\n}\n'
    assert declared("internal/db/chunk.go", text) == []


REPOSITORY = '''package infrastructure

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"example.com/app/internal/orm"
)

func (r *Repo) Retrieve(ctx context.Context, embedding []float32, limit int) ([]orm.BookPart, error) {
	var bis []orm.BookPart
	err := r.db.
		WithContext(ctx).
		Clauses(clause.OrderBy{
			Expression: clause.Expr{
				SQL:  "embedding <=> ?",
				Vars: []any{pgvector.NewVector(embedding)},
			},
		}).
		Limit(limit).
		Find(&bis).Error
	return bis, err
}

func (r *Repo) Nearest(ctx context.Context, v pgvector.Vector) (orm.BookPart, error) {
	var part orm.BookPart
	err := r.db.Model(&orm.BookPart{}).Order(clause.Expr{SQL: "embedding <-> ?", Vars: []any{v}}).First(&part).Error
	return part, err
}

func (r *Repo) Raw(ctx context.Context, v pgvector.Vector) error {
	return r.db.Table("other_parts").Select("id, embedding <#> ? AS score", v).Order("score").Error
}
'''


def test_the_distance_of_a_gorm_query_fragment_is_on_the_table_of_the_model_it_reads(tmp_path):
    """GORM's raw fragments (`clause.Expr{SQL: "embedding <=> ?"}`, `.Order(...)`, `.Select(...)`) have no statement
    to say a table: the chain's `.Table("t")`, else its `.Model(&T{})` or the model its Find/First fills."""
    from harness.steps.locate import locate

    for rel, text in {"go.mod": "module example.com/app\n", "internal/orm/book_part.go": BOOK_PART,
                      "internal/infrastructure/repo.go": REPOSITORY}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = locate(tmp_path)
    assert [(u.path, u.line, u.distance, u.kind, u.table, u.column, u.said) for u in found.distances] == [
        ("internal/infrastructure/repo.go", 16, "cosine", "gorm", "book_parts", "embedding", "<=>"),
        ("internal/infrastructure/repo.go", 27, "l2", "gorm", "book_parts", "embedding", "<->"),
        ("internal/infrastructure/repo.go", 32, "ip", "gorm", "other_parts", "embedding", "<#>")]


ENTITY = '''package documents

import (
	"time"

	"github.com/pgvector/pgvector-go"
)

type Document struct {
	ID        int64 `bun:",autoincrement,identity"`
	Title     string
	Metadata  map[string]any `bun:"type:jsonb"`
	CreatedAt time.Time
}

type DocumentChunk struct {
	DocumentID int64
	Chunk      int64
	Content    string
	Embedding  pgvector.Vector `bun:"type:vector(1536)"`
	Metadata   map[string]any  `bun:"type:jsonb"`
}
'''


def test_a_bun_models_vector_field_declares_its_column_on_the_table_bun_names_after_the_struct():
    """uptrace/bun names a model's table as GORM does (the struct's name in snake case, plural: DocumentChunk,
    document_chunks) and its column after the field (qbart/pgvector-example's entity.go); until then the tag's
    `vector(1536)` was read as SQL, without a table or a column."""
    assert declared("internal/documents/entity.go", ENTITY) == [
        (20, 1536, "bun", "document_chunks", "embedding", "vector")]


def test_a_bun_models_table_tag_and_column_name_name_the_table_and_column():
    """`bun.BaseModel \\`bun:"table:..."\\`` names the table; a tag's first item without a colon names the column."""
    text = '''package store

import (
	"github.com/pgvector/pgvector-go"
	"github.com/uptrace/bun"
)

type Chunk struct {
	bun.BaseModel `bun:"table:rag.chunk_store,alias:c"`

	ID     int64            `bun:",pk,autoincrement"`
	Text   string           `bun:"body,notnull"`
	Vector *pgvector.Vector `bun:"vec_384,type:halfvec(384)"`
}
'''
    assert declared("internal/store/chunk.go", text) == [(13, 384, "bun", "rag.chunk_store", "vec_384", "halfvec")]
