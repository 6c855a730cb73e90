"""Prometheus metrics of model calls, per provider and role."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "rma_llm_requests_total", "Model calls by outcome", ["provider", "role", "outcome"]
)
FALLBACKS = Counter(
    "rma_llm_fallbacks_total",
    "Calls answered by a later backend in the chain",
    ["role", "from_provider", "to_provider"],
)
LATENCY = Histogram(
    "rma_llm_latency_seconds",
    "Model call latency",
    ["provider", "role"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160),
)
FIRST_TOKEN = Histogram(
    "rma_llm_time_to_first_token_seconds",
    "Time to the first streamed token",
    ["provider", "role"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40),
)
TOKENS = Counter("rma_llm_tokens_total", "Tokens in and out", ["provider", "role", "direction"])
SHADOW = Counter(
    "rma_llm_shadow_total",
    "Shadow copies of chat calls sent to a migration candidate, by outcome",
    ["candidate", "outcome"],
)


def record_success(
    provider: str, role: str, seconds: float, tokens_in: int, tokens_out: int
) -> None:
    REQUESTS.labels(provider, role, "ok").inc()
    LATENCY.labels(provider, role).observe(seconds)
    TOKENS.labels(provider, role, "in").inc(tokens_in)
    TOKENS.labels(provider, role, "out").inc(tokens_out)


def record_error(provider: str, role: str, error: str) -> None:
    REQUESTS.labels(provider, role, error).inc()
