"""The adversarial letter set (corpora/notes/adversarial): model replies for cases of
the answer-key corpus, each with one planted fault (an unknown creditor, a negated
debt, changed timing, an inverted action, a wrong amount or date, a dropped or
invented deadline, someone else's action given to the client).

Each reply goes through the real notes service (``POST /convert``, the model being
the Ollama test server scripted with the reply). A fault is caught when it does not
reach the client (the letter is right on that point) or a warning names it. Faults
today's checks miss are strict xfails: the day a check catches one, its test fails
until the marker is removed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rma.notes.api import create
from rma.notes.schema import NotesExtraction
from tests.conftest import OllamaDouble
from tests.notes.test_corpus import BY_NAME, CORPUS

ADVERSARIAL = CORPUS / "adversarial"
FAULTS = [
    json.loads(path.read_text(encoding="utf-8")) for path in sorted(ADVERSARIAL.glob("*.json"))
]
CLEAN = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted((ADVERSARIAL / "clean").glob("*.json"))
}

# Faults today's checks let through, and why (measured; see docs/notes.md).
NOT_CAUGHT_YET: dict[str, str] = {}


def _params() -> list[Any]:
    return [
        pytest.param(
            fault,
            id=fault["id"],
            marks=[pytest.mark.xfail(strict=True, reason=NOT_CAUGHT_YET[fault["id"]])]
            if fault["id"] in NOT_CAUGHT_YET
            else [],
        )
        for fault in FAULTS
    ]


@pytest.fixture
def service(scripted_model: OllamaDouble) -> Iterator[tuple[TestClient, OllamaDouble]]:
    with TestClient(create()) as client:
        yield client, scripted_model


def letter_for(service: tuple[TestClient, OllamaDouble], case: str, reply: dict[str, Any]) -> Any:
    """The service's answer when the model replies ``reply`` to the case's notes."""
    client, ollama = service
    ollama.control(reply=json.dumps(reply))
    key = BY_NAME[case].key
    response = client.post(
        "/convert",
        json={
            "notes": BY_NAME[case].notes,
            "client_name": key.client_name,
            "appointment_date": key.appointment_date.isoformat(),
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def warned(fault: dict[str, Any], response: dict[str, Any]) -> bool:
    mention = fault["or_warning_mentions"].lower()
    return any(mention in w["message"].lower() for w in response["warnings"])


def right_on_the_point(fault: dict[str, Any], response: dict[str, Any]) -> bool:
    """Whether what the client reads is right where the fault was planted."""
    when = fault["caught_when"]
    if "letter_lacks" in when:
        return when["letter_lacks"] not in response["letter"]
    if "letter_has" in when:
        return when["letter_has"] in response["letter"]
    actions = " ".join(a["action"] for a in response["your_actions"])
    return when["your_actions_lack"] not in actions


# ------------------------------------------------------------- the set itself


def test_the_set_covers_every_fault_the_issues_name() -> None:
    kinds = {fault["fault"] for fault in FAULTS}
    assert kinds >= {
        "unknown_creditor",
        "negated_debt",
        "changed_timing",
        "inverted_action",
        "wrong_amount",
        "wrong_date",
        "dropped_deadline",
        "invented_deadline",
        "adviser_action_as_client",
    }
    assert len({fault["case"] for fault in FAULTS}) >= 5


@pytest.mark.parametrize("fault", FAULTS, ids=[f["id"] for f in FAULTS])
def test_each_fault_is_one_plant_in_a_valid_reply(fault: dict[str, Any]) -> None:
    reply, clean = fault["reply"], CLEAN[fault["case"]]
    NotesExtraction.model_validate(reply)
    changed = [name for name in clean if clean[name] != reply[name]]
    assert len(changed) == 1, changed
    assert fault["planted"] in json.dumps(reply[changed[0]], ensure_ascii=False)
    assert fault["must_say"] and set(fault["caught_when"]) <= {
        "letter_lacks",
        "letter_has",
        "your_actions_lack",
    }


@pytest.mark.parametrize("fault", FAULTS, ids=[f["id"] for f in FAULTS])
def test_without_the_plant_nothing_mentions_the_fault(
    fault: dict[str, Any], service: tuple[TestClient, OllamaDouble]
) -> None:
    """The control: the clean reply's letter does not carry the fault and no warning
    names it, so only the plant can make the test below pass or fail."""
    response = letter_for(service, fault["case"], CLEAN[fault["case"]])
    assert not warned(fault, response), response["warnings"]
    if "letter_has" not in fault["caught_when"]:
        assert right_on_the_point(fault, response)


@pytest.mark.parametrize("case", sorted(CLEAN))
def test_a_clean_reply_keeps_every_creditor_the_notes_name(
    case: str, service: tuple[TestClient, OllamaDouble]
) -> None:
    """Every creditor of a clean reply is in its notes, so none is left out (a name with
    a number in it, "Loans 2 Go", is a name, not a sum)."""
    response = letter_for(service, case, CLEAN[case])
    left_out = [
        w["message"] for w in response["warnings"] if "not a creditor named" in w["message"]
    ]
    assert not left_out
    for debt in CLEAN[case]["debts"]:
        assert debt["creditor"] in response["letter"]


# ------------------------------------------------------- today's checks on it


@pytest.mark.parametrize("fault", _params())
def test_a_planted_fault_is_caught(
    fault: dict[str, Any], service: tuple[TestClient, OllamaDouble]
) -> None:
    response = letter_for(service, fault["case"], fault["reply"])
    assert right_on_the_point(fault, response) or warned(fault, response), (
        f"{fault['fault']}: {fault['must_say']}"
    )
