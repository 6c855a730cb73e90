"""Score a random sample of a module's mutants against the tests that should kill them.

mutmut (``[tool.mutmut]`` in pyproject.toml) writes the mutants; its own runner runs
each one in a forked child, where tests that start process pools (the document workers)
or servers can hang until its timeout, whatever the mutant did. This runs each sampled
mutant the way mutmut activates one (``MUTANT_UNDER_TEST``, the mutated copy first on
the path) in a fresh pytest process instead, stopping at the first failing test:

    mutmut run "rma.limits.extract.x_find_figures__mutmut_1"   # writes mutants/ once
    python scripts/mutation_sample.py rma.limits.extract --sample 150 \
        tests/limits/test_extract.py tests/limits/test_extraction_corpus.py

A mutant is killed when a test fails, survives when every test passes, and timed out
(counted apart, and shown) after ``--timeout`` seconds. The sample is drawn with a fixed
seed from every mutant of the module, so a rerun after new tests scores the same ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"


def mutant_names(module: str) -> list[str]:
    meta = MUTANTS / "src" / (module.replace(".", "/") + ".py.meta")
    if not meta.exists():
        sys.exit(f"no mutants for {module}: run mutmut once first (see the module's doc)")
    return sorted(json.loads(meta.read_text())["exit_code_by_key"])


def run(name: str, tests: list[str], timeout: float) -> tuple[str, str, float]:
    env = {
        **os.environ,
        "MUTANT_UNDER_TEST": name,
        "PYTHONPATH": os.pathsep.join([str(MUTANTS / "src"), str(MUTANTS)]),
    }
    argv = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
            "-p", "no:randomly", *tests]  # fmt: skip
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, cwd=MUTANTS, env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return name, "timeout", time.monotonic() - started
    outcome = {0: "survived", 1: "killed"}.get(done.returncode, f"error {done.returncode}")
    return name, outcome, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="dotted module name, e.g. rma.limits.extract")
    parser.add_argument("tests", nargs="+", help="test files or ids to run against each")
    parser.add_argument("--sample", type=int, default=150)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="these mutants instead of a sample")
    parser.add_argument("--out", type=Path, help="write the outcomes here as JSON")
    args = parser.parse_args()

    names = mutant_names(args.module)
    chosen = args.only or random.Random(args.seed).sample(names, min(args.sample, len(names)))
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda n: run(n, args.tests, args.timeout), chosen))
    counts: dict[str, int] = {}
    for name, outcome, seconds in sorted(results):
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome != "killed":
            print(f"{outcome:9} {name} ({seconds:.0f} s)")
    killed, total = counts.get("killed", 0), len(results)
    print(f"{args.module}: {len(names)} mutants, {total} sampled (seed {args.seed}): "
          + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
          + f"; score {killed}/{total} = {100 * killed / total:.1f} %")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps({
            "module": args.module, "mutants": len(names), "seed": args.seed,
            "tests": args.tests, "counts": counts,
            "outcomes": {name: outcome for name, outcome, _ in results},
        }, indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
