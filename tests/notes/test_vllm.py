"""The sample notes through the real vLLM server, over HTTP.

The development model is tiny and often wrong, so these tests assert what code
guarantees whatever the model writes: the response's structure, that the checks ran
(re-running them here finds nothing the service did not report), and that every
amount, date and creditor in the letter comes from the notes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from rma.config import load_settings
from rma.notes.api import create
from rma.notes.checks import check_letter
from rma.notes.facts import NotesFacts, known_creditors_in
from rma.notes.letter import HEADINGS
from rma.text import find_amounts, find_dates
from tests.conftest import VLLM
from tests.notes.conftest import all_samples, sample
from tests.support.serve import serving

pytestmark = pytest.mark.vllm


def _service(vllm: VLLM, **env: Any) -> Any:
    settings = load_settings(
        LLM_PROVIDER="vllm",
        FALLBACK_PROVIDER="",
        VLLM_URL=vllm.url,
        VLLM_MODEL=vllm.model,
        VLLM_CONTEXT_TOKENS=2048,
        NOTES_RETAIN_SECONDS=0,
        # Every sample is sent at once to a CPU vLLM that compiles each schema's grammar on
        # first use: the first tokens can take minutes. What is tested here is the letters;
        # speed is measured by `rma bench`.
        LLM_FIRST_TOKEN_TIMEOUT=300,
        LLM_TOTAL_TIMEOUT=900,
        **env,
    )
    return serving(create(settings=settings))


@pytest.fixture(scope="module")
def notes_url(vllm: VLLM) -> Iterator[str]:
    with _service(vllm, NOTES_READING_AGE_TARGET=11) as url:
        yield url


def assert_letter_is_from_the_notes(notes: str, body: dict[str, Any]) -> None:
    """What code guarantees for any letter the service returns."""
    assert set(body) >= {
        "matters_discussed", "our_actions", "your_actions", "debts", "letter",
        "reading_age", "reading_age_target", "warnings", "provenance", "appointment_date",
        "checked",
    }  # fmt: skip
    letter = body["letter"]
    assert "Dear Jo Bloggs," in letter
    for heading in (HEADINGS["matters"], HEADINGS["ours"], HEADINGS["yours"]):
        assert heading in letter
    extract = body["provenance"][0]
    assert extract["step"] == "extract" and extract["provider"] == "vllm"
    assert extract["tokens_out"] > 0

    appointment = date.fromisoformat(body["appointment_date"])
    facts = NotesFacts.read(notes, appointment)
    # Every amount in the letter is an amount in the notes.
    assert {a.value for a in find_amounts(letter)} <= {a.value for a in facts.amounts}
    # Every date is in the notes, or is the letter's own date or the appointment.
    for found in find_dates(letter, appointment):
        assert found.value in (date.today(), appointment) or facts.has_date(found.value)
    for action in body["our_actions"] + body["your_actions"]:
        assert action["due"] is None or facts.has_date(date.fromisoformat(action["due"]))
    for debt in body["debts"]:
        assert facts.mentions(debt["creditor"])
        assert debt["amount"] is None or facts.has_amount(Decimal(debt["amount"]))

    # The checks ran on this letter: they counted what is in it...
    named = {d["creditor"] for d in body["debts"]} | set(known_creditors_in(letter))
    assert body["checked"] == {
        "amounts": len(find_amounts(letter)),
        "dates": len(find_dates(letter, appointment)),
        "creditors": len(named),
        "actions": len(facts.actions),
        "deadlines": sum(a.due is not None for a in facts.actions),
        "debts": len(body["debts"]),
    }
    # ...and running them again finds nothing the service did not report.
    reported = {(w["code"], w["message"]) for w in body["warnings"]}
    again = check_letter(
        letter,
        facts,
        creditors=[d["creditor"] for d in body["debts"]],
        allowed_dates={date.today(), appointment},
    )
    for warning in again:
        assert (warning.code, warning.message) in reported
    above = body["reading_age"] > body["reading_age_target"]
    assert above == any(w["code"] == "reading_age_above_target" for w in body["warnings"])


async def test_every_sample_through_vllm(notes_url: str) -> None:
    samples = all_samples()
    assert len(samples) >= 8
    async with httpx.AsyncClient(base_url=notes_url, timeout=300) as client:

        async def convert(notes: str) -> httpx.Response:
            return await client.post("/convert", json={"notes": notes, "client_name": "Jo Bloggs"})

        responses = await asyncio.gather(*(convert(n) for n in samples.values()))
    for (name, notes), response in zip(samples.items(), responses, strict=True):
        assert response.status_code == 200, (name, response.text)
        assert_letter_is_from_the_notes(notes, response.json())


def test_stream_through_vllm(notes_url: str) -> None:
    notes = sample("07")
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "POST", f"{notes_url}/convert/stream",
        json={"notes": notes, "client_name": "Jo Bloggs"}, timeout=300,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    names = [n for n, _ in events]
    assert names[0] == "stage" and names[-1] == "result", names
    assert "progress" in names  # the model's tokens were reported as they came
    assert names.index("letter") > max(i for i, n in enumerate(names) if n == "stage")
    result = events[-1][1]
    streamed = "".join(d["text"] for n, d in events if n == "letter")
    assert streamed.strip() == result["letter"].strip()
    assert_letter_is_from_the_notes(notes, result)


def test_rewording_through_vllm(vllm: VLLM) -> None:
    notes = sample("01")
    with _service(vllm, NOTES_READING_AGE_TARGET=5) as url:
        response = httpx.post(
            f"{url}/convert", json={"notes": notes, "client_name": "Jo Bloggs"}, timeout=300
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["our_actions"] or body["your_actions"] or body["matters_discussed"]
    steps = [p["step"] for p in body["provenance"]]
    codes = [w["code"] for w in body["warnings"]]
    # Above target, exactly one rewording call was made (or its failure is reported).
    assert steps == ["extract", "reword"] or "reword_failed" in codes
    assert "reading_age_above_target" in codes or body["reading_age"] <= 5
    assert_letter_is_from_the_notes(notes, body)
