"""Small typed clients for the three services the app calls over HTTP.

Each sends the app's service key (``RMA_SERVICE_KEY``) and the request's id, and turns
transport failures and 5xx answers into :class:`~rma.errors.ServiceUnavailable` (HTTP 503
from the app, naming the service), and a service's 4xx into the same error type the
service raised, with its message. Responses are read into the app's own types here, so
the rest of the app never handles a service's raw JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from rma import constants as C
from rma.cases.erasure import Forgotten
from rma.cases.proposals import DocumentReading, FieldRead, PageRead, pence_of
from rma.config import Settings
from rma.errors import (
    Conflict,
    InputError,
    InputTooLarge,
    NotFound,
    RMAError,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from rma.service.logs import request_id

CLIENT_ERRORS: dict[int, type[InputError]] = {
    404: NotFound,
    409: Conflict,
    413: InputTooLarge,
    415: UnsupportedMediaType,
}


class ServiceClient:
    """One service: its base URL, the key the app presents, and the error mapping."""

    name = "service"

    def __init__(
        self,
        base_url: str,
        key: str = "",
        *,
        timeout: float = C.SERVICE_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {C.API_KEY_HEADER: key} if key else {}
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=C.SERVICE_CONNECT_TIMEOUT),
            transport=transport,
        )

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self._send(self._http.build_request(method, path, **kwargs), stream=False)

    async def stream(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A response whose body is still to be read (``aiter_raw``; close it with
        ``aclose``), once its status says it succeeded; failures as :meth:`request`'s."""
        return await self._send(self._http.build_request(method, path, **kwargs), stream=True)

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        if rid := request_id.get():
            request.headers[C.REQUEST_ID_HEADER] = rid
        try:
            response = await self._http.send(request, stream=stream)
        except httpx.TimeoutException:
            raise ServiceUnavailable(
                f"the {self.name} did not answer in time", service=self.name
            ) from None
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"cannot reach the {self.name} at {self.base_url} ({type(exc).__name__})",
                service=self.name,
            ) from None
        if response.status_code < 400:
            return response
        if stream:
            await response.aread()
            await response.aclose()
        detail = _detail(response)
        if response.status_code in (401, 403):
            raise ServiceUnavailable(
                f"the {self.name} refused the app's service key (RMA_SERVICE_KEY must be a "
                "service token, `rma tokens create --service`, or one of its RMA_API_KEYS)",
                service=self.name,
                status=response.status_code,
            )
        raise self.failure(response.status_code, detail)

    def failure(self, status: int, detail: str) -> RMAError:
        """The error for the service's answer ``status`` (4xx or 5xx) with ``detail``: a
        5xx is the service unavailable, a 4xx the same error type the service raised."""
        if status >= 500:
            return ServiceUnavailable(
                f"the {self.name} failed ({status}): {detail}", service=self.name, status=status
            )
        error = CLIENT_ERRORS.get(status, InputError)(f"the {self.name}: {detail}")
        error.status_code = status
        return error

    async def healthy(self) -> dict[str, Any]:
        try:
            response = await self._http.get("/health", timeout=C.SERVICE_CONNECT_TIMEOUT)
            return {"service": self.name, "url": self.base_url, "ok": response.status_code == 200}
        except httpx.HTTPError as exc:
            return {"service": self.name, "url": self.base_url, "ok": False,
                    "error": type(exc).__name__}  # fmt: skip

    async def aclose(self) -> None:
        await self._http.aclose()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "no detail"
    return str(body.get("detail") or body.get("error") or body) if isinstance(body, dict) else ""


# ------------------------------------------------------------------ the doc-processor


class DocProcessor(ServiceClient):
    name = "doc-processor"

    async def read(
        self,
        data: bytes,
        file_name: str,
        media_type: str,
        on_page: Callable[[dict[str, Any]], None] | None = None,
    ) -> DocumentReading:
        """Send one document to ``POST /process``; its pages, type and fields. With
        ``on_page``, read with ``progress=true`` and called with each page's event (its
        number, the pages, method, confidence and whether it had text) as it is read."""
        files = {"file": (file_name, data, media_type)}
        if on_page is None:
            return _reading((await self.request("POST", "/process", files=files)).json())
        response = await self.stream("POST", "/process", params={"progress": "true"}, files=files)
        try:
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("event") == "page":
                    on_page(event)
                elif event.get("event") == "result":
                    return _reading(event["result"])
                elif event.get("event") == "error":
                    raise self.failure(int(event.get("status") or 500), str(event.get("detail")))
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise ServiceUnavailable(
                f"the {self.name} stopped part-way through the document ({type(exc).__name__})",
                service=self.name,
            ) from None
        finally:
            await response.aclose()
        raise ServiceUnavailable(f"the {self.name} ended without a result", service=self.name)

    async def page_image(self, data: bytes, file_name: str, media_type: str, number: int) -> bytes:
        """Page ``number`` of a document as PNG (``POST /pages/{number}``)."""
        response = await self.request(
            "POST", f"/pages/{number}", files={"file": (file_name, data, media_type)}
        )
        return response.content


def _reading(body: dict[str, Any]) -> DocumentReading:
    """What ``/process`` returned, as the case keeps it."""
    return DocumentReading(
        doc_type=str(body.get("doc_type") or "other"),
        pages=tuple(
            PageRead(int(p["number"]), str(p.get("text") or ""), str(p.get("method", "")),
                     p.get("confidence"), _size(p.get("size")))
            for p in body.get("pages", [])
        ),
        fields=tuple(
            FieldRead(
                name=name, value=str(f.get("value", "")), page=f.get("page"),
                quote=str(f.get("quote", "")), confidence=float(f.get("confidence", 0.0)),
                verified=bool(f.get("verified")), method=str(f.get("source", "")),
                note=str(f.get("note", "")), boxes=_boxes(f.get("boxes")),
            )
            for name, f in (body.get("fields") or {}).items()
            if f.get("value") not in (None, "")
        ),
        warnings=tuple(str(w) for w in body.get("warnings", [])),
    )  # fmt: skip


def _size(value: Any) -> tuple[float, float] | None:
    """A page's size as the doc-processor gives it, if it is two positive numbers."""
    if isinstance(value, list | tuple) and len(value) == 2:
        width, height = _numbers(value)
        if width > 0 and height > 0:
            return width, height
    return None


def _numbers(values: list[Any] | tuple[Any, ...]) -> list[float]:
    """Each value as a number; NaN for one that is not (it then fails every check)."""
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            out.append(float("nan"))
    return out


def _boxes(value: Any) -> tuple[tuple[float, float, float, float], ...]:
    """A field's boxes as the doc-processor gives them; those that are not four numbers
    with the right edge right of the left and the bottom below the top are dropped."""
    out = []
    for box in value if isinstance(value, list) else []:
        if isinstance(box, list | tuple) and len(box) == 4:
            left, top, right, bottom = _numbers(box)
            if right > left and bottom > top:
                out.append((left, top, right, bottom))
    return tuple(out)


# ------------------------------------------------------------------ the notes service


@dataclass(frozen=True)
class LetterDraft:
    """A letter the notes service wrote: its text, what else it returned, and the debts
    it read from the notes (creditor, pence or None)."""

    text: str
    details: dict[str, Any]
    debts: list[tuple[str, int | None]]


class NotesService(ServiceClient):
    name = "notes service"

    async def letter(
        self,
        notes: str,
        client_name: str,
        *,
        adviser_name: str | None = None,
        organisation: str | None = None,
        tone: str = "warm",
    ) -> LetterDraft:
        body = {"notes": notes, "client_name": client_name, "tone": tone}
        body |= {k: v for k, v in (("adviser_name", adviser_name),
                                    ("organisation", organisation)) if v}  # fmt: skip
        found = (await self.request("POST", "/convert", json=body)).json()
        debts = [
            (str(d["creditor"]), pence_of(str(d["amount"])) if d.get("amount") else None)
            for d in found.get("debts", [])
            if d.get("creditor")
        ]
        text = str(found.pop("letter", ""))
        return LetterDraft(text, found, debts)


# ------------------------------------------------------------------ the RAG service


class CaseSearch(ServiceClient):
    """A case's documents in the RAG service's per-case index."""

    name = "RAG service"

    async def index(
        self, case_key: str, document_key: str, file_name: str, pages: tuple[PageRead, ...]
    ) -> int:
        body = {
            "file_name": file_name,
            "pages": [{"number": p.number, "text": p.text} for p in pages if p.text.strip()],
        }
        if not body["pages"]:
            return 0
        found = await self.request("PUT", f"/cases/{case_key}/documents/{document_key}", json=body)
        return int(found.json()["passages"])

    async def remove(self, case_key: str, document_key: str) -> int:
        found = await self.request("DELETE", f"/cases/{case_key}/documents/{document_key}")
        return int(found.json()["removed"])

    async def query(
        self, case_key: str, question: str, top_k: int, max_tokens: int
    ) -> dict[str, Any]:
        body = {"question": question, "top_k": top_k, "max_tokens": max_tokens}
        answer: dict[str, Any] = (
            await self.request("POST", f"/cases/{case_key}/query", json=body)
        ).json()
        return answer

    async def forget_case(self, case_key: str) -> Forgotten:
        found = (await self.request("DELETE", f"/cases/{case_key}")).json()
        return Forgotten(
            chunks=int(found["passages"]),
            documents=int(found["documents"]),
            compacted=bool(found["store_compacted"]),
            warnings=tuple(found.get("warnings", [])),
        )


class Manuals(ServiceClient):
    """The manuals in the RAG service: list, upload, delete, ask (at once or streamed),
    and a cited passage with its page."""

    name = "RAG service"

    async def list(self) -> dict[str, Any]:
        found: dict[str, Any] = (await self.request("GET", "/documents")).json()
        return found

    async def upload(self, file_name: str, data: bytes, media_type: str) -> dict[str, Any]:
        files = {"file": (file_name, data, media_type)}
        found: dict[str, Any] = (await self.request("POST", "/ingest", files=files)).json()
        return found

    async def delete(self, document_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self.request("DELETE", f"/documents/{document_id}")).json()
        return found

    async def limit_conflicts(self) -> Any:
        """Figures the manuals state that the approved table does not hold for their
        dates (``GET /limits/conflicts``): each with its passage (document, page, quote)."""
        return (await self.request("GET", "/limits/conflicts")).json().get("conflicts", [])

    async def ask(self, body: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = (await self.request("POST", "/query", json=body)).json()
        return found

    async def ask_streamed(self, body: dict[str, Any]) -> httpx.Response:
        """``POST /query/stream``: its server-sent events still to be read."""
        return await self.stream("POST", "/query/stream", json=body)

    async def passage(self, chunk_id: str) -> dict[str, Any]:
        found: dict[str, Any] = (await self.request("GET", f"/passages/{chunk_id}")).json()
        return found

    async def page_image(self, document_id: str, page: int) -> bytes:
        return (await self.request("GET", f"/documents/{document_id}/pages/{page}")).content


@dataclass
class Services:
    docs: DocProcessor
    notes: NotesService
    search: CaseSearch
    manuals: Manuals

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        key = settings.rma_service_key.get_secret_value()
        timeout = settings.rma_service_timeout
        return cls(
            DocProcessor(settings.rma_docs_url, key, timeout=timeout),
            NotesService(settings.rma_notes_url, key, timeout=timeout),
            CaseSearch(settings.rma_rag_url, key, timeout=timeout),
            Manuals(settings.rma_rag_url, key, timeout=timeout),
        )

    def all(self) -> list[ServiceClient]:
        return [self.docs, self.notes, self.search]

    async def aclose(self) -> None:
        for client in [*self.all(), self.manuals]:
            await client.aclose()
