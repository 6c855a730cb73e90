"""Shared pieces for the notes tests: the sample notes and settings for each backend."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> str:
    """The text of the sample whose file name starts with ``name`` (e.g. "01")."""
    (path,) = SAMPLES.glob(f"{name}*.txt")
    return path.read_text(encoding="utf-8")


def all_samples() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))}
