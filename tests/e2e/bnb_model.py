"""A bitsandbytes 4-bit checkpoint of the tier's tiny model, made here.

The default model of compose.yaml, unsloth/Qwen2.5-32B-Instruct-bnb-4bit, is a
*pre-quantized* checkpoint: 4-bit NF4 weights with double quantization and a
`quantization_config` of `quant_method: bitsandbytes` in config.json, which vLLM loads
through the bitsandbytes plugin's loader. Nothing can be downloaded here, so this
quantizes the tiny random Qwen2 the same way with transformers and bitsandbytes (the
same settings unsloth's bnb-4bit uploads declare) and saves it, so the tier can serve
the form users serve.

Run with the tier's venv python (torch, transformers, bitsandbytes, accelerate):

    python tests/e2e/bnb_model.py SOURCE_DIR OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path


def quantize(source: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    config = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float16,
    )
    model = AutoModelForCausalLM.from_pretrained(
        source, quantization_config=config, device_map="cpu", dtype=torch.float16
    )
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)


if __name__ == "__main__":
    quantize(Path(sys.argv[1]), Path(sys.argv[2]))
