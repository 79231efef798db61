"""Where Postgres and Ollama come from: explicit URLs, Docker containers, or the embedded stack."""

from .embedded_pg import EmbeddedPostgres, free_port
from .stack import DOCKER, EMBEDDED, EXPLICIT, Stack, StackChoice, choose, docker_available, normalise_ollama_host, start_stack

__all__ = [
    "DOCKER", "EMBEDDED", "EXPLICIT", "EmbeddedPostgres", "Stack", "StackChoice", "choose", "docker_available",
    "free_port", "normalise_ollama_host", "start_stack",
]
