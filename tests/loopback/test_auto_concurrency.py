"""`--concurrency auto` through the real command line against the GPU simulator.

The simulator's engine runs on its own step clock, so these runs last a few seconds
whatever the machine; what is checked does not depend on how far auto got in them:
the bound it never passes, what the manifest and the summary say, and that a
/metrics it cannot use costs one warning and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import gen_args, run_client
from tests.gpusim import GpuSim

pytestmark = pytest.mark.loopback


def summary(out: Path, run_id: str = "r1") -> dict[str, Any]:
    manifest = json.loads((out / "raw" / run_id / "manifest.json").read_text(encoding="utf-8"))
    return dict(manifest["summary"])


def test_auto_stays_within_max_concurrency_and_records_what_it_did(tmp_path: Path) -> None:
    # 12 batches, 2 at a time, about 0.55 s each: more than the 1 s before the first scrape.
    with GpuSim(capacity=8, step_s=0.005) as sim:
        result = run_client(
            gen_args(
                sim.base_url,
                tmp_path,
                "--concurrency",
                "auto",
                "--max-concurrency",
                "2",
                "--batches",
                "12",
                "--pairs-per-batch",
                "3",
            )
        )
    assert result.code == 0, result.stderr
    assert sim.max_in_flight <= 2
    assert sim.metrics_scrapes >= 1
    concurrency = summary(tmp_path)["concurrency"]
    assert concurrency["mode"] == "auto" and concurrency["max_concurrency"] == 2
    endpoint = concurrency["endpoints"][sim.base_url]
    assert endpoint["signals"] == "metrics"
    assert endpoint["changes"][0] == {
        "after_s": 0.0,
        "level": 2,
        "reason": "start",
        "rate_tok_s": None,
    }
    assert 1 <= endpoint["level"] <= 2
    assert "auto, ended at" in result.stdout and "from /metrics" in result.stdout
    assert [e for e in result.events if e.get("level") == "warning"] == []


@pytest.mark.parametrize("mode", ["absent", "garbage", "unauthorized", "slow"])
def test_unusable_metrics_cost_one_warning_and_the_run_goes_on(tmp_path: Path, mode: str) -> None:
    # The batches take at least 4 s (or 8 s) of the engine's steps: long enough for the
    # first scrape (after 1 s) to fail, even a slow one (given up after 2 s).
    with GpuSim(capacity=4, metrics=mode) as sim:
        result = run_client(
            gen_args(
                sim.base_url,
                tmp_path,
                "--concurrency",
                "auto",
                "--batches",
                "24" if mode == "slow" else "12",
                "--pairs-per-batch",
                "3",
            )
        )
    assert result.code == 0, result.stderr
    warnings = [e for e in result.events if e.get("level") == "warning"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["reason"] == mode
    assert "tuning --concurrency auto from the client's own rate" in warnings[0]["event"]
    assert sim.metrics_scrapes == 1
    endpoint = summary(tmp_path)["concurrency"]["endpoints"][sim.base_url]
    assert (endpoint["signals"], endpoint["metrics_unavailable"]) == ("client", mode)
    assert "from the client's own signals" in result.stdout


def test_a_fixed_level_never_asks_for_metrics(tmp_path: Path) -> None:
    with GpuSim(capacity=8, step_s=0.001) as sim:
        result = run_client(
            gen_args(
                sim.base_url,
                tmp_path,
                "--concurrency",
                "3",
                "--batches",
                "9",
                "--pairs-per-batch",
                "3",
            )
        )
    assert result.code == 0, result.stderr
    assert sim.metrics_scrapes == 0
    assert sim.max_in_flight == 3
    assert summary(tmp_path)["concurrency"] == {"mode": "fixed", "level": 3}


def test_auto_from_the_config_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "generation:\n  concurrency: auto\n  max_concurrency: 3\n  num_pairs_per_batch: 3\n",
        encoding="utf-8",
    )
    with GpuSim(capacity=8, step_s=0.001) as sim:
        from_file = run_client(
            gen_args(sim.base_url, tmp_path, "--config", str(config), "--batches", "3")
        )
        from_env = run_client(
            gen_args(sim.base_url, tmp_path / "env", "--batches", "3"),
            GYARU_GENERATION__CONCURRENCY="auto",
            GYARU_GENERATION__NUM_PAIRS_PER_BATCH="3",
        )
    assert from_file.code == 0, from_file.stderr
    assert summary(tmp_path)["concurrency"]["max_concurrency"] == 3
    assert from_env.code == 0, from_env.stderr
    assert summary(tmp_path / "env")["concurrency"]["max_concurrency"] == 256


def test_each_endpoint_gets_its_own_level(tmp_path: Path) -> None:
    # 24 batches, at most 6 at a time, about 1.1 s each: several seconds, several scrapes.
    with (
        GpuSim(capacity=4) as one,
        GpuSim(capacity=4, metrics="absent") as two,
    ):
        result = run_client(
            [
                *gen_args(
                    one.base_url, tmp_path, "--concurrency", "auto", "--max-concurrency", "3"
                ),
                *("--base-url", two.base_url, "--batches", "24", "--pairs-per-batch", "3"),
            ]
        )
    assert result.code == 0, result.stderr
    assert one.max_in_flight <= 3 and two.max_in_flight <= 3
    endpoints = summary(tmp_path)["concurrency"]["endpoints"]
    assert endpoints[one.base_url]["signals"] == "metrics"
    assert endpoints[two.base_url]["signals"] == "client"
    (warning,) = [e for e in result.events if e.get("level") == "warning"]
    assert warning["endpoint"] == two.base_url
