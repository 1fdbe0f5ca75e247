"""`client check`: is the server ready, and which vLLM is it."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import structlog
from rich.table import Table

from client.cli.args import add_judge, add_logging, add_server, formatter, load_settings_from
from client.cli.shared import api_key, stdout_console
from client.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from client.run.check import EndpointCheck

log = structlog.get_logger("client.cli")

CHECK_EXAMPLES = """\
examples:
  client check
  client check --base-url http://gpu-box:8000/v1 --wait 600
  client check --judge-base-url http://judge-box:8000/v1 --judge-model qwen-judge
  client check --no-judge                     # a run with --no-judge needs no judge
"""


def register(sub: Any) -> None:
    check = sub.add_parser(
        "check",
        help="is the server ready? models, a one-token completion, structured output, the judge",
        description="Check the configured server(s): reachable, models served and their "
        "max_model_len, a one-token completion and its latency, structured output with "
        "this project's schema, and (when the judge is on) one grading request with the "
        "judge's prompt and schema, on the judge's server and model. Exit 0 when ready.",
        epilog=CHECK_EXAMPLES,
        formatter_class=formatter,
    )
    add_server(check)
    add_judge(check)
    add_logging(check)
    check.set_defaults(handler=run)


def run(args: argparse.Namespace, log_format: str, argv: list[str]) -> int:
    import anyio

    from client.run.check import run_check
    from client.server.readiness import TESTED_VLLM_VERSION, untested_version

    settings = load_settings_from(args)
    results = anyio.run(run_check, settings, api_key())
    stdout_console().print(_table(results))
    for r in results:
        if untested_version(r.vllm_version):
            # A warning, not a failure: another release may work, it is just unchecked.
            log.warning(
                f"the server runs vLLM {r.vllm_version}; this project is tested against "
                f"vLLM {TESTED_VLLM_VERSION}",
                endpoint=r.url,
                vllm_version=r.vllm_version,
                tested_vllm_version=TESTED_VLLM_VERSION,
            )
        if r.ready:
            log.info(
                "judge ready" if r.judge_only else "server ready", endpoint=r.url, model=r.model
            )
        else:
            what = "judge server" if r.judge_only else "server"
            log.error(f"{what} not ready: " + "; ".join(r.problems), endpoint=r.url)
    return EXIT_OK if all(r.ready for r in results) else EXIT_FAILED


def _version(check: EndpointCheck) -> str:
    # Here, not at the top: importing the command line must not load the OpenAI SDK
    # (a pair-check worker process imports it too).
    from client.server.readiness import TESTED_VLLM_VERSION, untested_version

    if not check.reachable:
        return "-"
    if check.vllm_version is None:
        return "unknown (no /version: not vLLM?)"
    if untested_version(check.vllm_version):
        return f"{check.vllm_version} (tested: {TESTED_VLLM_VERSION})"
    return check.vllm_version


def _table(results: list[EndpointCheck]) -> Table:
    table = Table(title="server check", title_justify="left")
    for column in (
        "endpoint",
        "reachable",
        "vLLM",
        "models (max_model_len)",
        "1-token completion",
        "structured output",
        "judge",
        "problems",
    ):
        table.add_column(column)
    for r in results:
        models = ", ".join(f"{m.id} ({m.max_model_len or '?'})" for m in r.models) or "-"
        table.add_row(
            f"{r.url} (judge)" if r.judge_only else r.url,
            "yes" if r.reachable else "no",
            _version(r),
            models,
            f"{r.completion_s * 1000:.0f} ms" if r.completion_s is not None else "-",
            _probe(r.structured_ok, r.structured_s),
            r.judge_note or _probe(r.judge_ok, r.judge_s, failed="CANNOT GRADE"),
            "; ".join(r.problems) or "ready",
        )
    return table


def _probe(ok: bool | None, seconds: float | None, *, failed: str = "FAILED") -> str:
    """`ok (0.4 s)`, the failure word, or `-` where the probe did not run."""
    if ok is None:
        return "-"
    if not ok:
        return failed
    return f"ok ({seconds:.1f} s)" if seconds else "ok"
