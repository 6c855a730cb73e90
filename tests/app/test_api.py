"""The app's own behaviour, with no service behind it: bad input answered clearly, a
document kept (and said to have failed) when the doc-processor cannot be reached, sensitive
details shown only when asked for and every read of client documents recorded, records
naming the person who acted (API keys are the services', not people's), and readiness that
says which dependency is down."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rma.app.actor import Access
from rma.app.api import create
from rma.config import load_settings
from rma.documents.sample_letters import sample_letters
from rma.errors import ConfigError
from tests.app.conftest import App, png, running_app


@pytest.fixture
def lone_app(tmp_path: Path, clean_env: Path) -> Any:
    with running_app(f"sqlite:///{tmp_path / 'rma.db'}", tmp_path / "app", None) as found:
        yield found


def wait_failed(app: App, case_id: int, document_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = app.ok("GET", f"/cases/{case_id}/documents/{document_id}")
        if found["status"] in ("failed", "processed"):
            return dict(found)
        time.sleep(0.2)
    raise TimeoutError


def test_bad_requests_get_clear_answers(lone_app: App) -> None:
    app = lone_app
    assert app.call("POST", "/cases", json={}).status_code == 422
    assert app.call("POST", "/cases", json={"client": {"name": "A", "shoe": 9}}).status_code == 422
    assert app.call("GET", "/cases/999").status_code == 404
    case = app.new_case()
    case_id = case["id"]
    wrong = app.call("POST", f"/cases/{case_id}/budget/lines",
                     json={"direction": "income", "category": "food_and_housekeeping",
                           "amount_pence": 100})  # fmt: skip
    assert wrong.status_code == 422 and "not a income category" in wrong.text
    negative = app.call("POST", f"/cases/{case_id}/debts",
                        json={"creditor": "X", "balance_pence": -1})  # fmt: skip
    assert negative.status_code == 422
    assert app.call("POST", f"/cases/{case_id}/debts/77/confirm", json={}).status_code == 404
    erase = {"as_": "supervisor"}  # erasing is a supervisor's
    assert app.call("DELETE", f"/cases/{case_id}", **erase).status_code == 422  # no confirmation
    confirmed_wrong = app.call("DELETE", f"/cases/{case_id}", params={"confirm": "x"}, **erase)
    assert confirmed_wrong.status_code == 409
    text_file = {"file": ("notes.pdf", b"Dear client", "application/pdf")}
    not_a_document = app.call("POST", f"/cases/{case_id}/documents", files=text_file)
    assert not_a_document.status_code == 415 and "plain text" in not_a_document.text
    closed = app.ok("PATCH", f"/cases/{case_id}", json={"status": "closed"})
    assert closed["status"] == "closed" and closed["closed_on"]
    unknown_kind = app.call("POST", f"/cases/{case_id}/debts",
                            json={"creditor": "X", "kind": "timeshare"})  # fmt: skip
    assert unknown_kind.status_code == 422


def test_an_unreadable_document_is_kept_and_said_to_have_failed(lone_app: App) -> None:
    app = lone_app
    case_id = app.new_case()["id"]

    image = png(sample_letters()[0])
    uploaded = app.upload(case_id, "letter.png", image, "image/png")
    found = wait_failed(app, case_id, uploaded["id"])
    assert found["status"] == "failed"
    assert "cannot reach the doc-processor" in found["status_detail"]
    # Nothing lost: the file is kept, encrypted, and can be read again later.
    file = app.call("GET", f"/cases/{case_id}/documents/{uploaded['id']}/file")
    assert file.content == image and file.headers["content-type"] == "image/png"
    assert "letter.png" not in file.headers["content-disposition"]
    again = app.ok("POST", f"/cases/{case_id}/documents/{uploaded['id']}/read")
    assert again["status"] == "received"
    assert wait_failed(app, case_id, uploaded["id"])["status"] == "failed"


def test_sensitive_details_and_document_reads_are_recorded(lone_app: App) -> None:
    app = lone_app
    seen: list[Access] = []

    async def hook(access: Access) -> None:
        seen.append(access)

    app.app.state.access_hooks.append(hook)
    case = app.ok("POST", "/cases", json={"client": {"name": "Jo", "vulnerability_notes":
                                                     "hospital stay"}})  # fmt: skip
    assert "vulnerability_notes" not in case["client"]
    assert case["client"]["has_vulnerability_notes"] is True
    assert seen == []
    shown = app.ok("GET", f"/cases/{case['id']}", params={"sensitive": "true"})
    assert shown["client"]["vulnerability_notes"] == "hospital stay"

    uploaded = app.upload(case["id"], "a.png", png(sample_letters()[1]), "image/png")
    app.call("GET", f"/cases/{case['id']}/documents/{uploaded['id']}/file")
    actions = [(a.action, a.case_id, a.document_id, a.actor.name) for a in seen]
    assert actions[0] == ("client.sensitive", case["id"], None, "adviser@advice.example")
    assert ("document.file", case["id"], uploaded["id"], "adviser@advice.example") in actions


def test_records_name_the_person_and_api_keys_are_not_people(
    tmp_path: Path, clean_env: Path
) -> None:
    second = "second-key-" + "0" * 32
    keys = "first-key-" + "0" * 32 + "," + second
    with running_app(f"sqlite:///{tmp_path / 'rma.db'}", tmp_path / "app", None,
                     RMA_API_KEYS=keys) as app:  # fmt: skip
        nobody = httpx.get(f"{app.url}/cases")
        assert nobody.status_code == 401
        key = httpx.get(f"{app.url}/cases", headers={"X-API-Key": second})
        assert key.status_code == 401  # a service key signs no person in
        case = app.ok("POST", "/cases", json={"client": {"name": "Jo"}})
        assert case["created_by"] == "adviser@advice.example"
        debt = app.ok("POST", f"/cases/{case['id']}/debts",
                      json={"creditor": "Northgate Bank", "kind": "overdraft",
                            "balance_pence": 12_345})  # fmt: skip
        assert debt["decided_by"] == "adviser@advice.example"
        assert debt["sources"]["balance"]["recorded_by"] == "adviser@advice.example"


def test_ready_names_the_dependency_that_is_down(lone_app: App) -> None:
    response = lone_app.call("GET", "/ready")
    assert response.status_code == 503
    checks = {c["service"]: c["ok"] for c in response.json()["checks"]}
    assert checks == {"database": True, "doc-processor": False, "notes service": False,
                      "RAG service": False}  # fmt: skip
    assert lone_app.call("GET", "/health").status_code == 200


def test_the_app_will_not_start_without_an_encryption_key(tmp_path: Path, clean_env: Path) -> None:
    settings = load_settings(RMA_DATABASE_URL=f"sqlite:///{tmp_path / 'rma.db'}")
    with (
        pytest.raises(ConfigError, match="RMA_ENCRYPTION_KEY"),
        TestClient(create(settings=settings)),
    ):
        pass


def test_eligibility_for_facts_sent_as_they_are(lone_app: App) -> None:
    facts = {
        "debts": [
            {"creditor": "Northgate Bank", "kind": "credit_card", "balance_pence": 3_100_000}
        ],
        "monthly_surplus_pence": 5_000,
    }
    before = lone_app.ok("POST", "/eligibility", json={"facts": facts, "as_at": "2024-06-27"})
    after = lone_app.ok("POST", "/eligibility", json={"facts": facts, "as_at": "2024-06-28"})

    def debt_limit(result: dict[str, Any]) -> dict[str, Any]:
        dro = next(s for s in result["schemes"] if s["scheme"] == "dro")
        return next(c for c in dro["criteria"] if c["key"] == "dro.max_debt")

    assert debt_limit(before)["outcome"] == "fail"
    assert debt_limit(before)["margin"] == "£1,000 over the £30,000 limit"
    assert debt_limit(after)["outcome"] == "pass"
    assert debt_limit(after)["limit"]["statement"].startswith("As at 28 June 2024")
    yacht = {"facts": {"debts": [{"creditor": "X", "kind": "yacht"}]}}
    bad = lone_app.call("POST", "/eligibility", json=yacht)
    assert bad.status_code == 422
