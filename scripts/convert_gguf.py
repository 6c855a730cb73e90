"""Convert the bundled SmolLM2 GGUF file into a Hugging Face folder that vLLM can serve.

Run with the vLLM environment's Python (it has transformers and gguf):
    python scripts/convert_gguf.py GGUF_FILE OUT_DIR
The output folder is written atomically and marked with the GGUF's sha256, so callers
can cache it keyed by the source checksum.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path


def main() -> int:
    gguf = Path(sys.argv[1]).resolve()
    out = Path(sys.argv[2]).resolve()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    # Dequantized in float32 (transformers' fast path for packed GGUF weights), then saved
    # as bfloat16, the dtype the tests and benchmarks serve it in.
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    ).to(torch.bfloat16)
    # Loading a GGUF dequantizes the weights; drop the marker so they save as plain tensors.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
    (tmp / "SOURCE_SHA256").write_text(digest + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(f"converted {gguf.name} -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
