"""What locate reads from a repository, one module per kind of finding: files, schema, embedding calls, config,
entrypoints and the target's contract."""
