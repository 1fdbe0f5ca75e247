"""`server.metrics_urls` / `--metrics-url`: where --concurrency auto reads one endpoint's load.

They belong to one endpoint (a router, usually): with several base URLs they would be
ambiguous, so that is an error, one line, exit 2, as any bad setting is."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from client.config import Settings, load_settings
from client.errors import ConfigError
from tests.cli_helpers import gen_args, run_client

WORKERS = ("http://gpu-a:8000/metrics", "http://gpu-b:8000/metrics")


def test_none_by_default_and_a_list_from_yaml(tmp_path: Path) -> None:
    assert load_settings().server.metrics_urls == ()
    config = tmp_path / "c.yaml"
    config.write_text(
        "server:\n  base_url: http://router:30000/v1\n"
        f"  metrics_urls: [{WORKERS[0]}, {WORKERS[1]}]\n",
        encoding="utf-8",
    )
    assert load_settings(config).server.metrics_urls == WORKERS


def test_the_flag_repeats_and_overrides_the_file() -> None:
    settings = load_settings(None, {"server": {"metrics_urls": list(WORKERS)}})
    assert settings.server.metrics_urls == WORKERS


def test_they_need_a_scheme() -> None:
    with pytest.raises(ValidationError, match="metrics URL must start with http:// or https://"):
        Settings.model_validate({"server": {"metrics_urls": ["gpu-a:8000/metrics"]}})


def test_several_endpoints_make_them_ambiguous() -> None:
    with pytest.raises(ConfigError, match="read for one endpoint, a router"):
        load_settings(
            None,
            {
                "server": {
                    "base_urls": ["http://a:8000/v1", "http://b:8000/v1"],
                    "metrics_urls": [WORKERS[0]],
                }
            },
        )


def test_on_the_command_line_a_bad_combination_is_one_line_and_exit_2(tmp_path: Path) -> None:
    args = gen_args("http://127.0.0.1:9/v1", tmp_path, "--base-url", "http://127.0.0.1:10/v1")
    result = run_client([*args, "--metrics-url", WORKERS[0], "--concurrency", "auto"])
    assert result.code == 2
    assert "read for one endpoint, a router" in result.error
    assert "Traceback" not in result.stderr
