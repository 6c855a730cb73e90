"""Ask the manuals and the manuals' pages in the app, over real HTTP to a real RAG service
whose chat model is the Ollama test server (so a reply is scripted: a cited one, and one
RMA cannot check). The streamed answer relays the service's events and ends with the
answer as the page renders it; a citation opens its page with the passage highlighted;
an admin lists, uploads and deletes manuals (an adviser is refused), each step audited.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rma.accounts.audit import AuditLog
from rma.db import Database
from rma.rag.api import create as create_rag
from tests.app.conftest import App, Services, running_app
from tests.app.test_pages import add_people, signed_in, text_of
from tests.conftest import ROOT, OllamaDouble, clean_environment
from tests.support.serve import serving
from tests.support.servers import free_port

MANUALS = ("bankruptcy.pdf", "individual-voluntary-arrangements.md")
IVA_QUESTION = "Who supervises an individual voluntary arrangement?"
BANKRUPTCY_QUESTION = "How much does it cost to apply for your own bankruptcy?"


@pytest.fixture(scope="module")
def rag(ollama_server: OllamaDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The RAG service over HTTP, its model the Ollama test server, two manuals in it."""
    folder = tmp_path_factory.mktemp("rag")
    with pytest.MonkeyPatch.context() as patch:
        clean_environment(patch, folder)
        patch.setenv("LLM_PROVIDER", "ollama")
        patch.setenv("OLLAMA_URL", ollama_server.url)
        with serving(create_rag()) as url:
            for name in MANUALS:
                data = (ROOT / "manuals" / name).read_bytes()
                found = httpx.post(f"{url}/ingest", files={"file": (name, data)}, timeout=600)
                assert found.status_code == 200, found.text
            yield url


@pytest.fixture
def app(rag: str, ollama: OllamaDouble, tmp_path: Path, clean_env: Path) -> Iterator[App]:
    dead = f"http://127.0.0.1:{free_port()}"
    services = Services(notes=dead, docs=dead, rag=rag, rag_data=tmp_path, processes=[])
    database = f"sqlite:///{tmp_path / 'rma.db'}"
    with running_app(
        database, tmp_path / "app", services, RMA_SESSION_COOKIE_SECURE="false"
    ) as app:
        asyncio.run(add_people(app))
        yield app


def events(text: str) -> list[tuple[str, Any]]:
    """The stream's events, read here independently of the app's own reader."""
    found = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.split("\n")
        name = next((x[6:].strip() for x in lines if x.startswith("event:")), "message")
        data = "\n".join(x[5:].removeprefix(" ") for x in lines if x.startswith("data:"))
        if data:
            found.append((name, json.loads(data)))
    return found


def ask_streamed(client: httpx.Client, csrf: str, question: str) -> list[tuple[str, Any]]:
    with client.stream(
        "POST", "/ui/ask/stream", data={"question": question}, headers={"X-CSRF-Token": csrf}
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return events("".join(response.iter_text()))


def answer_section(page: str) -> str:
    found = re.search(r'<section[^>]*id="answer-section".*?</section>', page, re.S)
    assert found, "no answer on the page"
    return found.group(0)


def test_the_streamed_answer_relays_the_events_and_ends_with_the_answer_the_page_shows(
    app: App, ollama: OllamaDouble
) -> None:
    reply = "A licensed insolvency practitioner supervises the arrangement [1]."
    ollama.control(reply=reply)
    client, csrf = signed_in(app, "adviser")
    found = ask_streamed(client, csrf, IVA_QUESTION)
    names = [name for name, _ in found]
    assert names[0] == "sources" and names[-2:] == ["answer", "rendered"]
    assert set(names[1:-2]) == {"delta"}
    assert "".join(d for n, d in found if n == "delta").startswith(reply)
    answer = found[-2][1]
    assert answer["checked"] is True and answer["covered"] is True
    rendered = found[-1][1]["html"]
    assert reply in html.unescape(rendered) and "(cited)" in rendered
    for source in answer["sources"]:
        assert f'href="/ui/manuals/passages/{source["chunk_id"]}"' in rendered
    # the same answer the plain form shows, rendered by the same template
    plain = client.post("/ui/ask", data={"question": IVA_QUESTION, "csrf_token": csrf})
    assert answer_section(plain.text) == rendered.strip()


def test_a_reply_rma_cannot_check_is_streamed_then_replaced_by_the_checked_answer(
    app: App, ollama: OllamaDouble
) -> None:
    reply = "The answer is no."
    ollama.control(reply=reply)
    client, csrf = signed_in(app, "adviser")
    found = ask_streamed(client, csrf, IVA_QUESTION)
    assert reply in "".join(d for n, d in found if n == "delta")  # streamed as it came
    answer = found[-2][1]
    assert answer["checked"] is False and answer["unchecked_reply"] == reply
    rendered = found[-1][1]["html"]
    assert "Not checked." in rendered and reply not in html.unescape(rendered)
    assert "(cited)" in rendered  # the best passages, word for word, with their citations


def test_the_stream_needs_the_csrf_token_and_a_signed_in_person(app: App) -> None:
    client, _ = signed_in(app, "adviser")
    refused = client.post("/ui/ask/stream", data={"question": IVA_QUESTION})
    assert refused.status_code == 403
    anonymous = httpx.post(app.url + "/ui/ask/stream", data={"question": IVA_QUESTION})
    assert anonymous.status_code == 401


def test_a_citation_opens_its_page_with_the_passage_highlighted(
    app: App, rag: str, ollama: OllamaDouble
) -> None:
    ollama.control(reply="It costs £680 in total [1].")
    client, csrf = signed_in(app, "adviser")
    answer = ask_streamed(client, csrf, BANKRUPTCY_QUESTION)[-2][1]
    source = next(s for s in answer["sources"] if s["document"] == "bankruptcy.pdf")
    page = client.get(f"/ui/manuals/passages/{source['chunk_id']}")
    assert page.status_code == 200, page.text
    place = httpx.get(f"{rag}/passages/{source['chunk_id']}").json()
    assert place["located"] and place["boxes"]
    image = f"/ui/manuals/{source['document_id']}/pages/{source['page']}"
    assert f'<image href="{image}"' in page.text
    assert page.text.count('<rect class="highlight"') == len(place["boxes"])
    assert " ".join(source["quote"].split()) in html.unescape(text_of(page.text))
    png = client.get(image)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert png.headers["content-type"] == "image/png"
    for bad in (0, 99):
        assert client.get(f"/ui/manuals/{source['document_id']}/pages/{bad}").status_code == 404
    assert client.get("/ui/manuals/no-such-manual/pages/1").status_code == 404
    assert client.get("/ui/manuals/passages/..%2Fetc:0123456789abcdef:1").status_code in (404, 422)
    anonymous = httpx.get(app.url + image)
    assert anonymous.status_code == 401


def test_a_passage_of_a_markdown_manual_opens_in_context(app: App, ollama: OllamaDouble) -> None:
    ollama.control(reply="An insolvency practitioner supervises the arrangement [1].")
    client, csrf = signed_in(app, "adviser")
    answer = ask_streamed(client, csrf, IVA_QUESTION)[-2][1]
    source = next(s for s in answer["sources"] if s["document"].endswith(".md"))
    page = client.get(f"/ui/manuals/passages/{source['chunk_id']}")
    assert page.status_code == 200
    assert "<svg" not in page.text and "<img" not in page.text
    marked = re.search(r'<p class="cited"><mark>(.*?)</mark>', page.text, re.S)
    assert marked and html.unescape(marked.group(1)) == source["quote"]
    assert 'class="context"' in page.text  # the passages around it


def test_only_an_admin_manages_the_manuals_and_a_delete_is_confirmed_and_audited(
    app: App, rag: str
) -> None:
    adviser, adviser_csrf = signed_in(app, "adviser")
    assert adviser.get("/ui/admin/manuals").status_code == 403
    assert "/ui/admin/manuals" not in adviser.get("/").text
    name = "iva-extra.md"
    body = b"# IVA extra\n\n## Fees\n\nThe nominee's fee is agreed with the creditors.\n"
    refused = adviser.post(
        f"/ui/admin/manuals?csrf_token={adviser_csrf}", files={"file": (name, body)}
    )
    assert refused.status_code == 403

    admin, csrf = signed_in(app, "admin")
    listing = admin.get("/ui/admin/manuals")
    assert listing.status_code == 200
    assert "bankruptcy.pdf" in listing.text and "/ui/admin/manuals" in admin.get("/").text
    uploaded = admin.post(f"/ui/admin/manuals?csrf_token={csrf}", files={"file": (name, body)})
    assert uploaded.status_code == 200, uploaded.text
    assert f"{name}: added" in text_of(uploaded.text)
    manual = next(d for d in httpx.get(f"{rag}/documents").json()["documents"]
                  if d["filename"] == name)  # fmt: skip
    assert f'id="manual-{manual["id"]}"' in admin.get("/ui/admin/manuals").text

    confirm = admin.get(f"/ui/admin/manuals/{manual['id']}/delete")
    assert confirm.status_code == 200 and "Delete this manual" in confirm.text
    assert manual["id"] in [d["id"] for d in httpx.get(f"{rag}/documents").json()["documents"]]
    assert admin.post(f"/ui/admin/manuals/{manual['id']}/delete").status_code == 403  # no CSRF
    deleted = admin.post(f"/ui/admin/manuals/{manual['id']}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert f'id="manual-{manual["id"]}"' not in admin.get(deleted.headers["location"]).text
    assert manual["id"] not in [d["id"] for d in httpx.get(f"{rag}/documents").json()["documents"]]
    assert admin.get(f"/ui/admin/manuals/{manual['id']}/delete").status_code == 404

    async def audited() -> list[tuple[str, str, str | None]]:
        database = Database.from_settings(app.settings)
        try:
            entries = await AuditLog(database).entries()
            return [(str(e["action"]), str(e["outcome"]), e["object_id"]) for e in entries]
        finally:
            await database.aclose()

    entries = asyncio.run(audited())
    assert ("manuals.delete", "ok", manual["id"]) in entries
    assert ("manuals.upload", "ok", None) in entries
    assert any(a == "manuals.upload" and o != "ok" for a, o, _ in entries)  # the adviser's
