"""Every file name under the output directory, the run id rules, and the format version.

raw/<run_id>/batch_0001.json ...   one per finished (or failed) batch
raw/<run_id>/manifest.json         config snapshot, prompt hash, per-batch status
raw/<run_id>/input_rejections.jsonl   input runs: the lines never sent, and why
processed/gyaru_dataset_<run_id>.json
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from client.errors import ConfigError

# The version written into raw batch records and manifests.
FORMAT = 1

RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
BATCH_FILE_RE = re.compile(r"^batch_(\d{4,})\.json$")
MANIFEST_NAME = "manifest.json"
INPUT_REJECTIONS_NAME = "input_rejections.jsonl"
PROCESSED_PREFIX = "gyaru_dataset_"


def new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise ConfigError(
            f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
            "(it names a folder inside the output directory)"
        )
    return run_id


def raw_dir(output_dir: Path, run_id: str) -> Path:
    return output_dir / "raw" / run_id


def processed_dir(output_dir: Path) -> Path:
    return output_dir / "processed"


def processed_path(output_dir: Path, run_id: str) -> Path:
    return processed_dir(output_dir) / f"{PROCESSED_PREFIX}{run_id}.json"


def judged_path(source: Path) -> Path:
    """Where `client judge` writes its graded copy of a dataset: beside it, with a name
    that is also a run id (`client export <id>-judged`)."""
    return source.with_name(f"{source.stem}-judged.json")


def rejected_path(dataset: Path) -> Path:
    """The pairs a dataset left out, with their reasons, one JSON object a line."""
    return dataset.with_name(f"{dataset.stem}.rejected.jsonl")


def processed_datasets(output_dir: Path) -> list[Path]:
    """Every processed dataset in the output directory, sorted by name."""
    return sorted(processed_dir(output_dir).glob(f"{PROCESSED_PREFIX}*.json"))


def batch_file_name(index: int) -> str:
    return f"batch_{index:04d}.json"
