"""The limits page against the real RAG service: a manual that states an old figure as if
it applied today is an open conflict on the page, with its document, page and quote
beside the approved value, and changes nothing. The answer key is the facts file's DRO
debt limit (£50,000 since 28 June 2024), not what the app computes."""

from __future__ import annotations

import re

from tests.app.conftest import App, Services

STALE = (
    "# Debt Relief Orders: a quick guide\n\n"
    "A Debt Relief Order can be made only if the client's total debts are no more than "
    "£30,000.\n"
)


def test_a_manual_contradicting_an_approved_limit_is_an_open_conflict_on_the_page(
    sqlite_app: App, services: Services
) -> None:
    ingested = services.rag_call(
        "POST", "/ingest", files={"file": ("quick-guide.md", STALE.encode(), "text/markdown")}
    )
    ingested.raise_for_status()
    try:
        page = sqlite_app.call("GET", "/ui/limits")
        assert page.status_code == 200, page.text
        rows = re.findall(r'<tr class="conflict">(.*?)</tr>', page.text, re.DOTALL)
        stale = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)) for r in rows if "£30,000" in r]
        assert len(stale) == 1, rows
        assert "quick-guide.md" in stale[0] and "no more than £30,000" in stale[0]
        assert "£50,000 from 2024-06-28" in stale[0]  # the approved value, unchanged
        assert "Debt Relief Order" in stale[0]
        current = re.search(r'<tr id="limit-dro.max_debt">(.*?)</tr>', page.text, re.DOTALL)
        assert current and "£50,000" in current.group(1)
    finally:
        services.rag_call("DELETE", f"/documents/{ingested.json()['document_id']}")
    after = sqlite_app.call("GET", "/ui/limits").text
    assert "quick-guide.md" not in after
