"""A small retrieval-augmented-generation app: documents, chunks, embeddings, search with citations."""
