"""generate (respx): the files a run writes, their contract fields, resume and outcomes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partialmethod
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from client.config import Settings
from client.errors import ModelNotServedError, ServerUnavailableError
from client.run.generate import generate
from client.run.summary import RunSummary
from tests.helpers import (
    BASE_URL,
    chat_ok,
    default_chat,
    generation_calls,
    generation_requests,
    mock_vllm,
    pairs_doc,
    vllm_error,
)

CONTRACT = {"id", "batch", "topic", "standard", "gyaru", "generated_at"}


async def run(settings: Settings, run_id: str = "t1") -> RunSummary:
    return await generate(settings, api_key=None, run_id=run_id, argv=["generate"])


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


async def test_outputs_follow_the_contract(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(generation={"total_batches": 8, "num_pairs_per_batch": 5})
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        summary = await run(settings)
    out = tmp_path / "outputs"
    raw = sorted((out / "raw" / "t1").glob("batch_*.json"))
    assert [p.name for p in raw] == [f"batch_{i:04d}.json" for i in range(1, 9)]
    record = read(raw[0])
    assert record["status"] == "ok" and record["batch"] == 1
    assert record["request"]["temperature"] == 0.8 and record["request"]["max_tokens"] == 2000
    assert record["request"]["structured_output"] is True
    assert (
        record["reply"]["finish_reason"] == "stop"
        and record["reply"]["usage"]["completion_tokens"] == 50
    )
    assert record["attempts"] == 1 and record["latency_s"] >= 0
    assert len(record["accepted"]) == 5 and record["rejected"] == []

    processed = read(out / "processed" / "gyaru_dataset_t1.json")
    pairs = processed["pairs"]
    assert len(pairs) == 40
    assert all(set(p) >= CONTRACT for p in pairs)
    assert len({p["id"] for p in pairs}) == 40
    assert all("あーし" in p["gyaru"] for p in pairs)
    assert all(p["generated_at"].endswith("Z") for p in pairs)
    meta = processed["metadata"]
    assert meta["run_id"] == "t1" and meta["summary"]["pairs_unique"] == 40
    assert summary.status == "complete" and summary.exit_code == 0

    manifest = read(out / "raw" / "t1" / "manifest.json")
    assert manifest["status"] == "complete"
    assert len(manifest["system_prompt"]["sha256"]) == 64
    assert manifest["model"] == "test-model" and manifest["endpoints"] == [BASE_URL]
    assert set(manifest["batches"]) == {str(i) for i in range(1, 9)}
    assert manifest["batches"]["3"]["status"] == "ok" and manifest["batches"]["3"]["attempts"] == 1
    assert manifest["config"]["generation"]["total_batches"] == 8


async def test_rejected_items_stay_in_raw_files(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    doc = json.loads(pairs_doc(4))
    doc["pairs"][1]["gyaru"] = "うちも行くし！"
    doc["pairs"][2]["topic"] = "Cooking"
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: chat_ok(json.dumps(doc, ensure_ascii=False)))
        summary = await run(
            make_settings(generation={"total_batches": 1, "num_pairs_per_batch": 4})
        )
    record = read(tmp_path / "outputs" / "raw" / "t1" / "batch_0001.json")
    assert [r["reason"] for r in record["rejected"]] == ["missing_first_person", "topic"]
    assert record["rejected"][0]["item"]["gyaru"] == "うちも行くし！"
    assert summary.stats.rejections == {"missing_first_person": 1, "topic": 1}
    assert summary.stats.pairs_unique == 2


async def test_duplicates_across_batches_are_removed(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: chat_ok(pairs_doc(5, "same")))
        summary = await run(make_settings(generation={"total_batches": 3}))
    assert summary.stats.pairs_unique == 5 and summary.stats.duplicates == 10
    assert len(read(tmp_path / "outputs" / "processed" / "gyaru_dataset_t1.json")["pairs"]) == 5


async def test_dedup_against_earlier_runs_is_opt_in(make_settings: Callable[..., Settings]) -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, lambda req: chat_ok(pairs_doc(5, "same")))
        first = await run(make_settings(generation={"total_batches": 1}), "a")
        again = await run(make_settings(generation={"total_batches": 1}), "b")
        opted = await run(
            make_settings(
                generation={"total_batches": 1}, validation={"dedup_against_previous_runs": True}
            ),
            "c",
        )
    assert first.stats.pairs_unique == 5 and again.stats.pairs_unique == 5
    assert opted.stats.pairs_unique == 0 and opted.stats.duplicates_of_earlier_runs == 5


async def test_near_duplicates_are_dropped_naming_the_kept_twin(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    counter = iter(range(100))

    def reply(request: httpx.Request) -> httpx.Response:
        doc = json.loads(pairs_doc(5, "twins"))
        if next(counter):  # later batches: the same pairs, one word more in each
            for pair in doc["pairs"]:
                pair["gyaru"] = pair["gyaru"].replace("んだけど！", "んだけど！マジで")
        return chat_ok(json.dumps(doc, ensure_ascii=False))

    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, reply)
        summary = await run(make_settings(generation={"total_batches": 2, "concurrency": 1}))
    stats = summary.stats
    assert stats.duplicates == 0 and stats.near_duplicates == 5 and stats.pairs_unique == 5
    assert stats.near_duplicate_of == {f"t1-b0002-{i:03d}": f"t1-b0001-{i:03d}" for i in range(5)}
    summary_json = read(tmp_path / "outputs" / "processed" / "gyaru_dataset_t1.json")["metadata"]
    assert summary_json["summary"]["near_duplicates"] == 5
    diversity = summary_json["summary"]["diversity"]
    assert diversity["lines"] == 5 and diversity["near_duplicate_rate"] == 0.5

    async with respx.mock(assert_all_called=False) as router:
        counter = iter(range(1, 100))  # every batch of the next run is the near twin
        mock_vllm(router, reply)
        earlier = await run(
            make_settings(
                generation={"total_batches": 1}, validation={"dedup_against_previous_runs": True}
            ),
            "t2",
        )
    assert earlier.stats.near_duplicates == 5 and earlier.stats.pairs_unique == 0
    assert set(earlier.stats.near_duplicate_of.values()) == {f"t1-b0001-{i:03d}" for i in range(5)}


async def test_a_failed_batch_makes_the_run_incomplete_but_keeps_the_rest(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    def chat(request: httpx.Request) -> httpx.Response:
        if "バッチ番号は3です" in request.content.decode():
            return vllm_error(400, "prompt is too long")
        return default_chat(request)

    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, chat)
        summary = await run(make_settings(generation={"total_batches": 4}))
    assert summary.status == "incomplete" and summary.exit_code == 1
    assert summary.stats.pairs_unique == 15 and summary.stats.batches_failed == 1
    record = read(tmp_path / "outputs" / "raw" / "t1" / "batch_0003.json")
    assert record["status"] == "failed" and record["error"]["status"] == 400
    assert "prompt is too long" in record["error"]["message"]
    assert summary.resume_command is not None and "--run-id t1" in summary.resume_command


async def test_resume_requests_only_unfinished_batches(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    fail = {"on": True}

    def chat(request: httpx.Request) -> httpx.Response:
        if fail["on"] and "バッチ番号は2です" in request.content.decode():
            return vllm_error(400, "nope")
        return default_chat(request)

    settings = make_settings(generation={"total_batches": 4})
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, chat)
        first = await run(settings)
        assert first.status == "incomplete" and generation_calls(route) == 4
        fail["on"] = False
        second = await run(settings)
        assert generation_calls(route) == 5
        assert "バッチ番号は2です" in generation_requests(route)[-1].content.decode()
    assert second.status == "complete" and second.batches_skipped == 3
    pairs = read(tmp_path / "outputs" / "processed" / "gyaru_dataset_t1.json")["pairs"]
    assert len(pairs) == 20 and len({p["id"] for p in pairs}) == 20
    manifest = read(tmp_path / "outputs" / "raw" / "t1" / "manifest.json")
    assert [s["status"] for s in manifest["sessions"]] == ["incomplete", "complete"]


async def test_target_mode_reports_whether_the_target_was_reached(
    make_settings: Callable[..., Settings],
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        reached = await run(
            make_settings(generation={"target_pairs": 12, "max_batches": 10, "concurrency": 1}), "a"
        )
        capped = await run(
            make_settings(generation={"target_pairs": 100, "max_batches": 3, "concurrency": 2}), "b"
        )
    assert (
        reached.target_reached and reached.status == "complete" and reached.stats.pairs_unique == 15
    )
    assert (
        not capped.target_reached
        and capped.status == "incomplete"
        and capped.stats.pairs_unique == 15
    )


async def test_model_not_served_is_a_usage_error(make_settings: Callable[..., Settings]) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)
        with pytest.raises(
            ModelNotServedError, match=r"'nope' is not served .* it serves: test-model"
        ):
            await run(make_settings(server={"model": "nope"}))
        assert route.call_count == 0


async def test_model_auto_takes_the_first_served(make_settings: Callable[..., Settings]) -> None:
    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, models=("test-model", "other"))
        summary = await run(
            make_settings(server={"model": "auto"}, generation={"total_batches": 1})
        )
        assert json.loads(route.calls.last.request.content)["model"] == "test-model"
    assert summary.model == "test-model"


async def test_server_down_fails_fast(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    async with respx.mock(assert_all_called=False) as router:
        router.get(f"{BASE_URL}/models").mock(side_effect=httpx.ConnectError("refused"))
        with pytest.raises(
            ServerUnavailableError, match=r"cannot reach the server.*docker compose up"
        ):
            await run(make_settings())
    # Nothing was started, so no run folder is left behind.
    assert not (tmp_path / "outputs" / "raw" / "t1").exists()


async def test_a_prompt_longer_than_the_context_fails_before_any_batch(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from client.errors import ConfigError

    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router, prompt_tokens=9000)
        with pytest.raises(
            ConfigError, match="the prompt is 9000 tokens but the model's max_model_len is 8192"
        ):
            await run(make_settings())
        assert route.call_count == 0
    assert not (tmp_path / "outputs" / "raw" / "t1").exists()


async def test_too_little_room_for_the_reply_is_reported(
    make_settings: Callable[..., Settings],
) -> None:
    from structlog.testing import capture_logs

    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router, prompt_tokens=7000)
        with capture_logs() as logs:
            summary = await run(make_settings(generation={"total_batches": 1}))
    assert summary.status == "complete"
    (warning,) = [e for e in logs if e["event"].startswith("replies will be cut short")]
    assert warning["room_for_reply"] == 1192 and warning["max_new_tokens"] == 2000


async def test_servers_without_tokenize_are_fine(make_settings: Callable[..., Settings]) -> None:
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        router.post("http://vllm.test/tokenize").mock(
            return_value=httpx.Response(404, json={"detail": "Not Found"})
        )
        summary = await run(make_settings(generation={"total_batches": 1}))
    assert summary.status == "complete"


async def test_a_new_run_draws_its_base_seed_and_a_resumed_one_keeps_it(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from client.pairs.prompts import batch_seed

    settings = make_settings(generation={"seed": None, "total_batches": 2})
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        await generate(settings, api_key=None, run_id="s1", argv=[], new_seed=lambda: 4242)
        raw = tmp_path / "outputs" / "raw" / "s1"
        (raw / "batch_0002.json").unlink()  # as if the first session stopped before batch 2
        await generate(settings, api_key=None, run_id="s1", argv=[], new_seed=lambda: 1)
    assert read(raw / "manifest.json")["base_seed"] == 4242
    seeds = [read(raw / f"batch_000{i}.json")["request"]["seed"] for i in (1, 2)]
    assert seeds == [batch_seed(4242, 1), batch_seed(4242, 2)]


async def test_batches_do_not_queue_behind_a_slow_manifest_write(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A disk (or a CPU-starved machine) where a manifest write lasts until every other
    # batch has finished: those batches are stored without waiting for it, and do not
    # each write the manifest again once it is done.
    from client.storage.manifest import ManifestWriter

    writes: list[int] = []
    write_text = ManifestWriter.write_text

    def write_once_all_are_in(self: ManifestWriter, chunks: list[str]) -> None:
        writes.append(len(writes))
        # Waits for the other batches to reach the sink (a bound, not a timing: with
        # the old queueing they reach it too, then wait for this write).
        deadline = time.monotonic() + 30
        while len(self.manifest.data["batches"]) < 16 and time.monotonic() < deadline:
            time.sleep(0.01)
        write_text(self, chunks)

    monkeypatch.setattr(ManifestWriter, "write_text", write_once_all_are_in)
    # Due at every batch: as when each write takes longer than the interval.
    monkeypatch.setattr(
        ManifestWriter, "__init__", partialmethod(ManifestWriter.__init__, interval_s=0.0)
    )
    settings = make_settings(generation={"total_batches": 16, "concurrency": 16})
    async with respx.mock(assert_all_called=False) as router:
        mock_vllm(router)
        summary = await run(settings)
    assert summary.status == "complete"
    # One write while the batches finish, not one per batch (16, each batch waiting
    # for all the writes before its own); the run's last manifest is finalise's.
    assert len(writes) == 1, writes
    manifest = read(tmp_path / "outputs" / "raw" / "t1" / "manifest.json")
    assert len(manifest["batches"]) == 16


async def test_requests_keep_going_out_while_replies_are_being_written(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A disk (WSL2's /mnt, a network share) or a starved machine where writing a batch's
    # file lasts until the server has had more requests than the concurrency: the next
    # batches are sent meanwhile, each holding its reply in a place to store it, up to
    # as many places as there may be requests (so at most twice the concurrency).
    from client.storage.runstore import RunStore

    write_batch = RunStore.write_batch
    seen_when_released: list[int] = []

    async with respx.mock(assert_all_called=False) as router:
        route = mock_vllm(router)

        def write_once_more_were_sent(self: RunStore, index: int, record: Any) -> Path:
            # A bound, not a timing: held until 4 requests reached the server (2 at
            # concurrency 2, and 2 more sent while these two are written), or 10 s.
            deadline = time.monotonic() + 10
            while generation_calls(route) < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_when_released.append(generation_calls(route))
            return write_batch(self, index, record)

        monkeypatch.setattr(RunStore, "write_batch", write_once_more_were_sent)
        # With the judge on, a batch keeps its slot until judged (its verdicts may stop
        # the run), so this is a run without it.
        settings = make_settings(
            generation={"total_batches": 6, "concurrency": 2}, judge={"enabled": False}
        )
        summary = await run(settings)
    assert summary.status == "complete"
    # Holding their slots while written, the first two would have let no third out.
    assert seen_when_released[0] >= 4, seen_when_released
    assert generation_calls(route) == 6
