"""Helpers more than one command needs: the stdout console, the API key, the progress
decision, and the settings a dataset was made with."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from pydantic import SecretStr
    from rich.console import Console

    from client.config import Settings
    from client.storage.dataset import Dataset

log = structlog.get_logger("client.cli")


def stdout_console() -> Console:
    from rich.console import Console

    # Piped output (a log file, CI) gets wide tables instead of wrapped cells.
    return Console(width=None if sys.stdout.isatty() else 160)


def show_progress(args: argparse.Namespace, log_format: str) -> bool:
    return (
        not getattr(args, "no_progress", False) and log_format == "console" and sys.stderr.isatty()
    )


def api_key() -> SecretStr | None:
    """The key from VLLM_API_KEY, registered for redaction before anything can log it."""
    from client.config import api_key_from_env
    from client.redact import register_secret

    key = api_key_from_env()
    register_secret(key.get_secret_value() if key else None)
    return key


def output_dir_and_settings(args: argparse.Namespace) -> tuple[Path, Settings]:
    from client.config import load_settings

    settings = load_settings(args.config, persona=args.persona)
    return (args.output_dir or settings.output.output_dir), settings


def names_settings(args: argparse.Namespace) -> bool:
    """Whether the user named a config or a persona (over a dataset's own snapshot)."""
    return args.config is not None or getattr(args, "persona", None) is not None


def dataset_settings(args: argparse.Namespace, dataset: Dataset, fallback: Settings) -> Settings:
    """The settings a dataset was made with (its metadata keeps a snapshot), unless the
    user named a config or a persona: an お嬢様 dataset exports with the お嬢様 system prompt."""
    from pydantic import ValidationError

    from client.config import Settings

    snapshot = dataset.metadata.get("config")
    if names_settings(args) or not isinstance(snapshot, dict):
        return fallback
    try:
        return Settings.model_validate(snapshot)
    except ValidationError:
        log.warning("the dataset's config snapshot is not readable here; using the current config")
        return fallback
