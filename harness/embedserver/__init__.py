"""The project's own Ollama-compatible embedding server, running real models."""

from .models import HASH_EMBED, MINILM, HashEmbed, ModelRegistry, minilm_available
from .server import EmbeddingServer, Pace

__all__ = ["EmbeddingServer", "HASH_EMBED", "HashEmbed", "MINILM", "ModelRegistry", "Pace", "minilm_available"]
