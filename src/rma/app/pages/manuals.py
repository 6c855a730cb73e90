"""Ask the manuals, and read what an answer cites.

The plain form posts the question and gets the whole cited answer as a page. With the
page's script, the same question goes to ``/ui/ask/stream`` instead: the RAG service's
server-sent events are relayed as they come (``sources``, each ``delta`` of the model's
wording), and its final ``answer`` is followed by ``rendered``, that answer as the same
HTML the plain form shows (one template, :file:`answer.html`), which replaces the draft
on screen: a reply the service could not check is never left showing.

Each source links to its passage in the manual: for a PDF, the page rendered with the
passage's lines highlighted (the boxes the RAG service found) and, for every manual, the
passage in context. Any signed-in person may read the manuals; every read is audited by
its permission, as every route is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from rma.app.actor import ManualAsker, ManualReader
from rma.app.deps import StateDep
from rma.app.pages.render import PAGE_PREFIX, fragment, page
from rma.errors import ServiceUnavailable
from rma.service.sse import Frame, event_stream, read_events

routes = APIRouter(prefix=PAGE_PREFIX, include_in_schema=False)
# Ids only: a manual's id is a slug of its file name with a hash; a passage's id adds the
# version and the passage's number (rma.rag.store).
MANUAL_ID = r"^[a-z0-9][a-z0-9-]{0,120}$"
PASSAGE_ID = r"^[a-z0-9][a-z0-9-]{0,120}:[0-9a-f]{16}:[0-9]{1,6}$"
ManualId = Annotated[str, Path(pattern=MANUAL_ID)]
PassageId = Annotated[str, Path(pattern=PASSAGE_ID)]
Question = Annotated[str, Form(min_length=1, max_length=2000)]


@routes.get("/ask")
async def ask_page(request: Request, _: ManualAsker) -> HTMLResponse:
    return page(request, "ask.html", answer=None)


@routes.post("/ask")
async def ask(
    request: Request, state: StateDep, _: ManualAsker, question: Question
) -> HTMLResponse:
    """The RAG service's cited answer; its sources listed by number as the answer cites them."""
    answer = await state.services.manuals.ask({"question": question})
    return page(request, "ask.html", question=question, answer=answer)


@routes.post("/ask/stream")
async def ask_streamed(
    request: Request, state: StateDep, _: ManualAsker, question: Question
) -> Response:
    """The answer as server-sent events: the RAG service's, then ``rendered`` (the final
    answer as the page shows it). A service that refuses the question answers here as it
    would the plain form (an error status, before any event)."""
    upstream = await state.services.manuals.ask_streamed({"question": question})

    async def frames() -> AsyncIterator[Frame]:
        try:
            async for event, data in read_events(upstream.aiter_lines()):
                yield event, data
                if event == "answer" and isinstance(data, dict):
                    yield "rendered", {"html": fragment(request, "answer.html", answer=data)}
        except httpx.HTTPError:  # the service went away mid-answer: an error event, said so
            raise ServiceUnavailable(
                "the RAG service stopped answering part-way; ask again", service="RAG service"
            ) from None
        finally:
            await upstream.aclose()

    return event_stream(frames())


@routes.get("/manuals/passages/{chunk_id}")
async def passage_page(
    request: Request, state: StateDep, _: ManualReader, chunk_id: PassageId
) -> HTMLResponse:
    """A cited passage in its manual: its page with the passage highlighted (a PDF), and
    the passage marked among the ones around it."""
    found: dict[str, Any] = await state.services.manuals.passage(chunk_id)
    return page(request, "passage.html", passage=found)


@routes.get("/manuals/{manual_id}/pages/{page}")
async def page_image(state: StateDep, _: ManualReader, manual_id: ManualId, page: int) -> Response:
    """Page ``page`` of a PDF manual as PNG (404 for an unknown manual or page)."""
    png = await state.services.manuals.page_image(manual_id, page)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
