"""The test harness itself: under CI a skip fails unless it is on the allow-list, the vLLM
suite finds the cached vLLM without any variable, and a vLLM URL that does not answer
fails the tests with a message instead of skipping them."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rma.llm import assets
from tests.conftest import CI_MAY_SKIP, ROOT
from tests.support.servers import free_port, require_reachable, vllm_install

SKIPPING = """
import pytest

def test_skips_for_a_reason_ci_can_fix():
    pytest.skip("PostgreSQL is not installed")

@pytest.mark.skipif(True, reason="no vLLM here")
def test_skipped_by_a_marker():
    pass

def test_skips_for_an_allowed_reason():
    pytest.skip("{allowed}: this machine")

@pytest.mark.xfail(reason="a known bug")
def test_expected_to_fail():
    assert False

def test_passes():
    pass
"""


def run_pytest(folder: Path, ci: bool) -> str:
    (folder / "test_sample.py").write_text(SKIPPING.format(allowed=next(iter(CI_MAY_SKIP))))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PYTHONPATH": str(ROOT), **({"CI": "true"} if ci else {})}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider",
         "-q", "-rA", "--rootdir", str(folder), str(folder)],
        capture_output=True, text=True, env=env, cwd=folder, timeout=120,
    )  # fmt: skip
    return done.stdout


def test_under_ci_a_skip_fails_unless_its_reason_is_allowed(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, ci=True)
    assert "FAILED test_sample.py::test_skips_for_a_reason_ci_can_fix" in out, out
    # A skip in set-up (a marker, or a fixture such as vLLM's) fails as an error.
    assert "ERROR test_sample.py::test_skipped_by_a_marker" in out, out
    assert "CI may not skip this test; it skipped with: no vLLM here" in out, out
    assert f"SKIPPED [1] test_sample.py:12: {next(iter(CI_MAY_SKIP))}" in out, out
    assert "XFAIL test_sample.py::test_expected_to_fail" in out, out
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed, 1 error" in out, out


def test_outside_ci_a_skip_stays_a_skip(tmp_path: Path) -> None:
    out = run_pytest(tmp_path, ci=False)
    assert "1 passed, 3 skipped, 1 xfailed" in out, out


def test_every_allowed_skip_says_why_ci_cannot_run_it() -> None:
    assert CI_MAY_SKIP and all(len(why) > 20 for why in CI_MAY_SKIP.values())


def cache_with_vllm(cache: Path, source_sha: str) -> tuple[Path, Path]:
    key = hashlib.sha256((ROOT / "requirements/vllm.txt").read_bytes())
    env = cache / f"vllm-{key.hexdigest()[:12]}"
    (env / "bin").mkdir(parents=True)
    (env / ".complete").touch()
    model = cache / "models" / f"smollm2-hf-{assets.SMOLLM2_GGUF.sha256[:16]}"
    model.mkdir(parents=True)
    (model / "SOURCE_SHA256").write_text(source_sha + "\n")
    return env, model


def test_the_vllm_suite_finds_the_cached_vllm_without_any_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RMA_TEST_VLLM_PYTHON", raising=False)
    monkeypatch.delenv("RMA_TEST_VLLM_MODEL_DIR", raising=False)
    monkeypatch.setenv("RMA_CACHE", str(tmp_path))
    assert vllm_install() is None  # nothing cached: the fixture skips (fails under CI)
    env, model = cache_with_vllm(tmp_path, assets.SMOLLM2_GGUF.sha256)
    assert vllm_install() == (str(env / "bin" / "python"), str(model))


def test_a_model_converted_from_another_file_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RMA_TEST_VLLM_PYTHON", raising=False)
    monkeypatch.delenv("RMA_TEST_VLLM_MODEL_DIR", raising=False)
    monkeypatch.setenv("RMA_CACHE", str(tmp_path))
    cache_with_vllm(tmp_path, "0" * 64)
    assert vllm_install() is None


def test_the_variables_win_over_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMA_TEST_VLLM_PYTHON", "/opt/vllm/bin/python")
    monkeypatch.setenv("RMA_TEST_VLLM_MODEL_DIR", "/models/smollm2")
    assert vllm_install() == ("/opt/vllm/bin/python", "/models/smollm2")


def test_a_configured_vllm_url_that_does_not_answer_fails_with_a_message() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(pytest.fail.Exception) as failed:
        require_reachable(url, "RMA_TEST_VLLM_URL")
    assert f"RMA_TEST_VLLM_URL={url} is set, but that server does not answer" in str(failed.value)
