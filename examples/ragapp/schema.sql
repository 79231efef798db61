-- The demo RAG app's schema: documents are chunked into collections (global_corpus, tenant_<id>),
-- and each chunk's embedding lives in document_embeddings with the model and input hash that made it.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS documents (
    id          bigserial PRIMARY KEY,
    collection  text NOT NULL,
    tenant_id   text,
    title       text NOT NULL,
    url         text NOT NULL,
    body        text NOT NULL,
    UNIQUE (collection, url)
);

CREATE TABLE IF NOT EXISTS document_chunks (
    id           bigserial PRIMARY KEY,
    document_id  bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    collection   text NOT NULL,
    tenant_id    text,
    chunk_index  integer NOT NULL,
    content      text NOT NULL,
    title        text NOT NULL,   -- citation: the document's title
    url          text NOT NULL,   -- citation: where the reader can check it
    UNIQUE (collection, document_id, chunk_index)
);
CREATE INDEX IF NOT EXISTS document_chunks_collection_idx ON document_chunks (collection, id);

-- No foreign key to document_chunks on purpose, as in many real schemas: orphans are possible,
-- and the DONE checks look for them.
CREATE TABLE IF NOT EXISTS document_embeddings (
    chunk_id     bigint PRIMARY KEY,
    collection   text NOT NULL,
    tenant_id    text,
    embedding    vector(384) NOT NULL,
    model_name   text NOT NULL,
    input_hash   text NOT NULL,
    embedded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS document_embeddings_collection_idx ON document_embeddings (collection);
CREATE INDEX IF NOT EXISTS document_embeddings_embedding_idx
    ON document_embeddings USING hnsw (embedding vector_cosine_ops);
