"""``rma migrate report``: what the shadow pairs say about a candidate backend.

Reads the pairs :mod:`rma.llm.migration` records (numbers only, no texts) and summarises
latency, time to first token, output tokens, answer similarity, citation overlap and the
candidate's errors, as Markdown and a PNG chart.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from rma.bench.stats import percentile
from rma.errors import InputError


def read_pairs(path: Path) -> list[dict[str, Any]]:
    """Every pair in the JSONL file; a line that is not a pair (a torn write) is skipped."""
    if not path.is_file():
        raise InputError(f"no shadow pairs at {path}: is SHADOW_PROVIDER set with SHADOW_PERCENT?")
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "primary" in record and "candidate" in record:
                pairs.append(record)
    return pairs


def _spread(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "p99": round(percentile(values, 99), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def summarise(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """The report's numbers, JSON-ready."""
    if not pairs:
        raise InputError("the pairs file holds no pairs yet")
    answered = [p for p in pairs if p["candidate"].get("error") is None]
    errors = Counter(p["candidate"]["error"] for p in pairs if p["candidate"].get("error"))
    ratios = [
        p["candidate"]["latency_ms"] / p["primary"]["latency_ms"]
        for p in answered
        if p["primary"]["latency_ms"]
    ]
    similarity = [p["similarity"] for p in answered if p.get("similarity") is not None]
    overlaps = [
        p["citations"]["overlap"]
        for p in answered
        if p.get("citations") and p["citations"]["overlap"] is not None
    ]
    dropped_citations = sum(
        1
        for p in answered
        if p.get("citations") and p["citations"]["primary"] and not p["citations"]["candidate"]
    )
    routes = Counter(
        f"{p['primary']['provider']}/{p['primary']['model']} -> "
        f"{p['candidate']['provider']}/{p['candidate']['model']}"
        for p in pairs
    )
    return {
        "pairs": len(pairs),
        "from": min(p["at"] for p in pairs),
        "to": max(p["at"] for p in pairs),
        "routes": dict(routes),
        "structured": sum(1 for p in pairs if p.get("structured")),
        "candidate_answered": len(answered),
        "candidate_errors": dict(errors),
        "latency_ms": {
            "primary": _spread([p["primary"]["latency_ms"] for p in answered]),
            "candidate": _spread([p["candidate"]["latency_ms"] for p in answered]),
            "candidate_over_primary_median": round(statistics.median(ratios), 3)
            if ratios
            else None,
        },
        "ttft_ms": {
            "primary": _spread(
                [p["primary"]["ttft_ms"] for p in answered if p["primary"]["ttft_ms"] is not None]
            ),
            "candidate": _spread(
                [
                    p["candidate"]["ttft_ms"]
                    for p in answered
                    if p["candidate"].get("ttft_ms") is not None
                ]
            ),
        },
        "tokens_out": {
            "primary": _spread([p["primary"]["tokens_out"] for p in answered]),
            "candidate": _spread([p["candidate"]["tokens_out"] for p in answered]),
        },
        "similarity": {
            **_spread(similarity),
            "identical": sum(1 for p in answered if p.get("identical")),
            "at_least_0_8": sum(1 for s in similarity if s >= 0.8),
        },
        "citation_overlap": {
            **_spread(overlaps),
            "primary_cited_candidate_did_not": dropped_citations,
        },
    }


def _v(value: Any, unit: str = "") -> str:
    return "-" if value is None else f"{value}{unit}"


def markdown(summary: dict[str, Any]) -> str:
    s = summary
    lat, ttft, tok = s["latency_ms"], s["ttft_ms"], s["tokens_out"]
    sim, cit = s["similarity"], s["citation_overlap"]
    answered = s["candidate_answered"]
    errors = ", ".join(f"{k} {v}" for k, v in s["candidate_errors"].items()) or "none"
    lines = [
        f"Shadow pairs: {s['pairs']} from {s['from']} to {s['to']} "
        f"({s['structured']} structured-output calls).",
        "",
        *(f"- {route}: {n} pairs" for route, n in s["routes"].items()),
        f"- candidate answered {answered}; errors: {errors}",
        "",
        "| measure | primary | candidate |",
        "|---|---:|---:|",
        f"| latency p50 ms | {_v(lat['primary']['p50'])} | {_v(lat['candidate']['p50'])} |",
        f"| latency p95 ms | {_v(lat['primary']['p95'])} | {_v(lat['candidate']['p95'])} |",
        f"| latency p99 ms | {_v(lat['primary']['p99'])} | {_v(lat['candidate']['p99'])} |",
        f"| first token p50 ms | {_v(ttft['primary']['p50'])} | {_v(ttft['candidate']['p50'])} |",
        f"| output tokens, mean | {_v(tok['primary']['mean'])} | {_v(tok['candidate']['mean'])} |",
        "",
        f"Candidate latency over primary, median of pairs: "
        f"{_v(lat['candidate_over_primary_median'], 'x')}.",
        "",
        f"Answer similarity (word-count cosine, 0-1): median {_v(sim['p50'])}, "
        f"mean {_v(sim['mean'])}; identical {sim['identical']} of {answered}; "
        f"0.8 or more {sim['at_least_0_8']} of {answered}.",
        f"Citation overlap ([n] markers, Jaccard) where either cites: median {_v(cit['p50'])} "
        f"over {cit['n']} pairs; the primary cited and the candidate did not in "
        f"{cit['primary_cited_candidate_did_not']}.",
    ]
    return "\n".join(lines)


def chart(pairs: list[dict[str, Any]], path: Path) -> Path:
    """Latency of each pair (candidate against primary), similarity and citation overlap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    answered = [p for p in pairs if p["candidate"].get("error") is None]
    fig, (lat, sim, cit) = plt.subplots(1, 3, figsize=(13, 4))
    xs = [p["primary"]["latency_ms"] for p in answered]
    ys = [p["candidate"]["latency_ms"] for p in answered]
    lat.scatter(xs, ys, s=12, alpha=0.6)
    top = max([*xs, *ys, 1.0])
    lat.plot([0, top], [0, top], color="grey", linewidth=1, linestyle="--", label="equal")
    lat.set_xlabel("primary latency, ms")
    lat.set_ylabel("candidate latency, ms")
    lat.set_title("Latency per pair")
    lat.legend(fontsize=8)
    sim.hist([p["similarity"] for p in answered if p.get("similarity") is not None], bins=20,
             range=(0, 1))  # fmt: skip
    sim.set_xlabel("answer similarity")
    sim.set_ylabel("pairs")
    sim.set_title("Answer similarity")
    overlaps = [
        p["citations"]["overlap"]
        for p in answered
        if p.get("citations") and p["citations"]["overlap"] is not None
    ]
    cit.hist(overlaps, bins=10, range=(0, 1), color="tab:green")
    cit.set_xlabel("citation overlap")
    cit.set_title("Citation overlap")
    for ax in (lat, sim, cit):
        ax.grid(True, alpha=0.3)
    primary = answered[0]["primary"]["provider"] if answered else "primary"
    candidate = pairs[0]["candidate"]["provider"] if pairs else "candidate"
    fig.suptitle(f"Shadow pairs: {primary} (primary) vs {candidate} (candidate), n={len(pairs)}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
