"""Which vLLM a server runs, against the one this project is tested with."""

from __future__ import annotations

# The vLLM release the test tier and the compose file pin; another one may well
# work, but its behaviour (structured output, errors, /tokenize) is unchecked.
TESTED_VLLM_VERSION = "0.32.0"


def untested_version(version: str | None) -> bool:
    """True for a vLLM version other than the tested one (None: not vLLM, or unknown)."""
    return version is not None and version != TESTED_VLLM_VERSION
