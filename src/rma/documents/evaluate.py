"""Measure OCR and field extraction on the sample letters, by page condition.

For each sample letter in each condition (clean, skewed, turned, noisy, faded, small)
the page image goes through the real pipeline; the result is compared with what the
letter says: character error rate of the page text, and each known field. "Verified
but wrong" counts values the code checks passed that are still wrong: the number that
matters most, since an adviser is told to trust those.

    rma documents evaluate               # Tesseract, fields by code only
    rma documents evaluate --with-model  # plus the configured chat model
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rma.documents.pipeline import DocumentProcessor
from rma.documents.sample_letters import CONDITIONS, render_png, sample_letters


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions), two-row version."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Edits per reference character, with runs of whitespace counted as one space."""
    ref = re.sub(r"\s+", " ", reference).strip()
    hyp = re.sub(r"\s+", " ", hypothesis).strip()
    return edit_distance(ref, hyp) / max(1, len(ref))


@dataclass
class ConditionScore:
    cer: list[float] = field(default_factory=list)
    fields_expected: int = 0
    fields_correct: int = 0
    correct_verified: int = 0
    verified_wrong: int = 0
    missing: int = 0
    types_correct: int = 0
    documents: int = 0
    seconds: list[float] = field(default_factory=list)


async def evaluate(
    seeds: list[int], with_model: bool, progress: Callable[[str], None] | None = None
) -> dict[str, ConditionScore]:
    """Score every sample letter in every page condition; ``progress`` hears each one."""
    router = None
    ocr_provider = "tesseract"
    if with_model:
        from rma.config import load_settings
        from rma.llm.factory import build_router

        settings = load_settings()
        router = build_router(settings)
        ocr_provider = settings.ocr_provider
    processor = DocumentProcessor(router, ocr_provider=ocr_provider)
    scores: dict[str, ConditionScore] = {condition: ConditionScore() for condition in CONDITIONS}
    try:
        for seed in seeds:
            for letter in sample_letters(seed):
                for condition in CONDITIONS:
                    data = render_png(letter, condition, seed)
                    started = time.monotonic()
                    result = await processor.process(data, f"{letter.name}.png")
                    score = scores[condition]
                    score.seconds.append(time.monotonic() - started)
                    score.documents += 1
                    score.cer.append(character_error_rate(letter.text, result.pages[0].text))
                    score.types_correct += result.classification.doc_type.value == letter.doc_type
                    for name, expected in letter.fields.items():
                        score.fields_expected += 1
                        got = result.fields.fields.get(name)
                        if got is None:
                            score.missing += 1
                        elif got.value == expected:
                            score.fields_correct += 1
                            score.correct_verified += got.verified
                        elif got.verified:
                            score.verified_wrong += 1
                    if progress:
                        progress(f"{letter.name} {condition}")
    finally:
        if router is not None:
            await router.aclose()
    return scores


def table(scores: dict[str, ConditionScore]) -> str:
    rows = [
        "| condition | pages | CER mean | CER max | fields right | of which verified "
        "| verified but wrong | missing | type right | s/page |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    total = ConditionScore()
    for condition, s in scores.items():
        rows.append(_row(condition, s))
        total.cer += s.cer
        total.seconds += s.seconds
        total.documents += s.documents
        total.fields_expected += s.fields_expected
        total.fields_correct += s.fields_correct
        total.correct_verified += s.correct_verified
        total.verified_wrong += s.verified_wrong
        total.missing += s.missing
        total.types_correct += s.types_correct
    rows.append(_row("**all**", total))
    return "\n".join(rows)


def _row(name: str, s: ConditionScore) -> str:
    right = s.fields_correct / max(1, s.fields_expected)
    return (
        f"| {name} | {s.documents} | {statistics.mean(s.cer):.3f} | {max(s.cer):.3f} "
        f"| {s.fields_correct}/{s.fields_expected} ({right:.0%}) | {s.correct_verified} "
        f"| {s.verified_wrong} "
        f"| {s.missing} | {s.types_correct}/{s.documents} | {statistics.mean(s.seconds):.1f} |"
    )
