"""The benchmark and report code itself, on tiny runs against the Ollama test server (the
real measurements are in docs/benchmarks.md, outside the test suite's time budget)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from rma.bench import llm as lb
from rma.bench import rag as rg
from rma.bench import shadow_report
from rma.cli import main
from rma.config import load_settings
from rma.errors import InputError
from rma.llm.backends.base import Target
from rma.llm.backends.vllm import VLLMBackend
from rma.llm.migration import CandidateAnswer, answer_similarity, shadow_pair
from rma.llm.types import ChatResult, Provenance
from tests.conftest import ROOT, OllamaDouble

PNG = b"\x89PNG\r\n\x1a\n"


def test_backend_specs_are_parsed_and_checked() -> None:
    b = lb.BenchBackend.parse("vllm=http://gpu-box:8000/v1/,smollm2", "vLLM")
    assert (b.name, b.url, b.model, b.api, b.describe()) == (
        "vllm",
        "http://gpu-box:8000/v1",
        "smollm2",
        "openai",
        "vLLM",
    )
    assert lb.BenchBackend.parse("ollama-gpu0=http://h:11434,llama3.1:8b").api == "ollama"
    for bad in ("vllm", "vllm=http://h/v1", "=http://h/v1,m", "x=ftp://h,m"):
        with pytest.raises(InputError):
            lb.BenchBackend.parse(bad)


async def test_sweep_measures_each_level_and_counts_errors(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    backend = lb.BenchBackend.parse(f"ollama={ollama.url},llama3.1:8b")
    config = lb.SweepConfig(levels=(1, 2), min_requests=2, max_tokens=8, warmup=1)
    result = await lb.sweep([backend], load_settings(), config)
    levels = result["results"]["ollama"]
    assert [x["concurrency"] for x in levels] == [1, 2]
    assert [x["requests"] for x in levels] == [2, 4]  # at least two per worker
    assert all(x["ok"] == x["requests"] and x["errors"] == 0 for x in levels)
    # The fake answers "This is the fake Ollama answer." (6 tokens) to every prompt.
    assert all(x["output_tokens"] == 6 * x["requests"] for x in levels)
    assert all(0 < x["latency_p50_s"] <= x["latency_p99_s"] for x in levels)
    assert all(x["ttft_p50_s"] is not None for x in levels)
    assert len(ollama.chats()) == 1 + 2 + 4  # the warm-up, then the measured requests
    assert result["comparison"]["throughput_ratio_at_best"] == {"ollama": 1.0}

    ollama.control(fail_next=100, status=400, error="model requires more system memory")
    failing = await lb.sweep([backend], load_settings(), lb.SweepConfig((2,), 2, 8, 0))
    level = failing["results"]["ollama"][0]
    assert (level["ok"], level["errors"]) == (0, 4)
    assert level["error_types"] == {"BackendRejected": 4}
    assert level["requests_per_s"] == 0 and level["latency_p99_s"] is None


async def test_a_shuffled_sweep_draws_the_order_again_at_each_level(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    names = ["a", "b", "c"]
    backends = [lb.BenchBackend(n, ollama.url, "llama3.1:8b", "ollama") for n in names]
    levels = (1, 1, 1, 1, 1, 1)
    config = lb.SweepConfig(levels, 1, 4, 0, order="shuffled", seed=7)
    result = await lb.sweep(backends, load_settings(), config)
    orders = result["run_order"]
    assert all(sorted(o) == names for o in orders) and len(orders) == len(levels)
    assert len({tuple(o) for o in orders}) > 1  # not the same order every level
    assert result["order"] == "shuffled" and result["seed"] == 7
    again = await lb.sweep(backends, load_settings(), config)
    assert again["run_order"] == orders  # the seed makes it repeatable
    fixed = await lb.sweep(backends, load_settings(), lb.SweepConfig((1, 1), 1, 4, 0))
    assert fixed["run_order"] == [names, names]


def test_llama_server_runs_parallel_slots_with_continuous_batching() -> None:
    from rma.bench.llamacpp import llama_server_argv

    many = llama_server_argv(Path("/bin/llama-server"), 9000, 8, 2, n_ctx=2048)
    assert many[many.index("--parallel") + 1] == "8" and "--cont-batching" in many
    assert many[many.index("--ctx-size") + 1] == str(8 * 2048)  # each slot its own window
    one = llama_server_argv(Path("/bin/llama-server"), 9000, 1, 2)
    assert one[one.index("--parallel") + 1] == "1" and "--no-cont-batching" in one


def test_bench_llm_command_writes_json_markdown_and_chart(
    clean_env: Path, ollama: OllamaDouble
) -> None:
    out = clean_env / "results"
    args = f"--levels 1,2 --requests 2 --max-tokens 8 --warmup 1 --out-dir {out}".split()
    run = CliRunner().invoke(
        main,
        [
            "bench",
            "llm",
            "--backend",
            f"ollama={ollama.url},llama3.1:8b",
            "--label",
            "ollama=Ollama test server",
            *args,
        ],
    )
    assert run.exit_code == 0, run.output
    result = json.loads((out / "llm.json").read_text())
    assert result["levels"] == [1, 2] and result["backends"][0]["label"] == "Ollama test server"
    table = (out / "llm.md").read_text()
    assert "| ollama | 2 | 4 |" in table and "Ollama test server" in table
    assert (out / "llm.png").read_bytes().startswith(PNG)

    bad = CliRunner().invoke(main, ["bench", "llm", "--backend", "nonsense", "--out-dir", str(out)])
    assert bad.exit_code == 2 and "NAME=URL,MODEL" in bad.output


async def test_bench_rag_runs_the_job_one_at_a_time_and_as_a_batch(
    clean_env: Path, ollama: OllamaDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    manuals = clean_env / "manuals"
    manuals.mkdir()
    shutil.copy(ROOT / "manuals" / "debt-relief-orders.md", manuals)
    settings = load_settings(
        LLM_PROVIDER="ollama", OLLAMA_URL=ollama.url, EMBED_PROVIDER="local", MANUALS_PATH=manuals
    )
    result = await rg.measure(settings, questions=3, max_tokens=16, warmup=1)
    job = result["job"]
    assert result["ingestion"]["documents"] == 1
    assert job["questions"] == 3
    assert job["sequential"]["failed"] == 0 and job["batched"]["failed"] == 0
    assert job["sequential"]["chat_providers"] == ["ollama"]
    assert job["batched"]["chat_providers"] == ["ollama"]
    assert job["batched"]["concurrency"] == settings.ollama_max_in_flight
    assert len(ollama.chats()) == 1 + 3 + 3
    assert job["speedup"] == pytest.approx(
        job["sequential"]["wall_s"] / job["batched"]["wall_s"], rel=0.05
    )
    assert "| one at a time (`POST /query` x 3) |" in rg.markdown(result)
    assert len(set(rg.QUESTIONS)) == 100


def test_migrate_report_summarises_pairs(clean_env: Path) -> None:
    candidate = Target(VLLMBackend(["http://candidate.invalid/v1"]), "smollm2")
    answer = "Council tax is a priority debt [1]."
    lines = []
    for i, other in enumerate([answer, "Council tax is a priority debt.", None]):
        prov = Provenance(
            role="chat", provider="ollama", model="llama3.1:8b", latency_ms=1000.0 + i, tokens_out=8
        )
        primary = ChatResult(answer, "stop", prov)
        if other is None:
            lines.append(shadow_pair(primary, candidate, None, "BackendTimeout", False))
            continue
        got = CandidateAnswer(500.0, 50.0, 20, 7, "stop", other)
        lines.append(shadow_pair(primary, candidate, got, None, False))
    pairs = clean_env / "data" / "shadow" / "pairs.jsonl"
    pairs.parent.mkdir(parents=True)
    pairs.write_text("".join(json.dumps(x) + "\n" for x in lines) + "{torn line\n")

    summary = shadow_report.summarise(shadow_report.read_pairs(pairs))
    assert summary["pairs"] == 3 and summary["candidate_answered"] == 2
    assert summary["candidate_errors"] == {"BackendTimeout": 1}
    assert summary["similarity"]["identical"] == 1
    expected = answer_similarity(answer, "Council tax is a priority debt.")
    assert summary["similarity"]["p50"] == pytest.approx((1 + expected) / 2, abs=1e-3)
    assert summary["citation_overlap"]["n"] == 2  # both pairs where either answer cites
    assert summary["citation_overlap"]["primary_cited_candidate_did_not"] == 1
    assert summary["latency_ms"]["candidate_over_primary_median"] == pytest.approx(0.5, abs=0.01)

    run = CliRunner().invoke(main, ["migrate", "report"])
    assert run.exit_code == 0, run.output
    assert "Shadow pairs: 3" in run.output and "BackendTimeout 1" in run.output
    assert (pairs.parent / "report.png").read_bytes().startswith(PNG)
    assert json.loads((pairs.parent / "report.json").read_text())["pairs"] == 3

    missing = CliRunner().invoke(main, ["migrate", "report", "--pairs", str(clean_env / "x")])
    assert missing.exit_code == 1 and "SHADOW_PROVIDER" in missing.output


def test_bench_retrieval_measures_ingestion_and_latency(clean_env: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    manuals = str(ROOT / "manuals")
    args = ["--manuals", manuals, "--sizes", "60", "--queries", "3", "--out-dir", str(out)]
    run = CliRunner().invoke(main, ["bench", "retrieval", *args])
    assert run.exit_code == 0, run.output
    result = json.loads((out / "retrieval.json").read_text())
    assert result["ingestion"]["pages"] > 0 and result["ingestion"]["pages_per_second"] > 0
    (row,) = result["retrieval"]
    assert row["chunks"] == 60 and row["queries"] == 3
    assert 0 < row["p50_ms"] <= row["p99_ms"]
    assert "| 60 | 3 |" in (out / "retrieval.md").read_text()


def test_a_shared_context_goes_before_every_question(
    clean_env: Path, ollama: OllamaDouble, tmp_path: Path
) -> None:
    passage = "A debt relief order lasts twelve months.\nThe debt limit is set in law."
    context = tmp_path / "passage.txt"
    context.write_text(passage + "\n", encoding="utf-8")
    out = clean_env / "results"
    args = f"--levels 2 --requests 4 --max-tokens 8 --warmup 0 --out-dir {out}".split()
    backend = f"ollama={ollama.url},llama3.1:8b"
    run = CliRunner().invoke(
        main, ["bench", "llm", "--backend", backend, "--shared-context", str(context), *args]
    )
    assert run.exit_code == 0, run.output
    asked = [
        r["body"]["messages"][-1]["content"]
        for r in ollama.requests()
        if r["path"] == "/api/chat" and "Question:" in r["body"]["messages"][-1]["content"]
    ]
    assert len(asked) == 4
    head = f"Passages from the manuals:\n{passage}\n\nQuestion: "
    assert all(a.startswith(head) for a in asked)
    assert len({a[len(head) :] for a in asked}) == 4  # four different questions after it
    assert json.loads((out / "llm.json").read_text())["shared_context_chars"] == len(passage)


def test_bench_ingest_measures_the_cold_run_the_embedder_alone_and_the_copies(
    clean_env: Path, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in sorted(p.name for p in (ROOT / "manuals").iterdir() if p.suffix == ".md")[:2]:
        shutil.copy(ROOT / "manuals" / name, corpus / name)
    out = tmp_path / "out"
    run = CliRunner().invoke(
        main, ["bench", "ingest", "--corpus", str(corpus), "--copies", "2", "--out-dir", str(out)]
    )
    assert run.exit_code == 0, run.output
    result = json.loads((out / "ingest.json").read_text())
    cold, alone = result["cold"], result["embedder_alone"]
    assert cold["documents"] == 2 and cold["reused_vectors"] == 0
    assert alone["chunks"] == cold["chunks"] > 0  # the same chunks, embedded again
    assert alone["tokens"] > alone["chunks"] and alone["tokens_per_second"] > 0
    assert 0 < result["embedder_share_of_cold"] == round(alone["seconds"] / cold["seconds"], 2)
    one, two = result["warm"]["1x"], result["warm"]["2x"]
    assert one["reused_vectors"] == one["chunks"] == cold["chunks"]  # remembered, not embedded
    assert two["documents"] == 4 and two["chunks"] == 2 * one["chunks"]
    assert f"({alone['tokens']} tokens)" in (out / "ingest.md").read_text()
