"""Generate standard-Japanese / gyaru-speech sentence pairs from a self-hosted vLLM server."""

__version__ = "0.1.0"
