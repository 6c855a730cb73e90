"""Ollama through its native API (``/api/chat``, ``/api/embed``, ``/api/tags``).

Native rather than Ollama's OpenAI shim because only the native API takes
``options.num_ctx`` (without it Ollama silently cuts long prompts to its default
context), ``keep_alive`` and a JSON schema in ``format``. Images go as raw base64.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from rma import constants as C
from rma.errors import (
    BackendError,
    BackendOverloaded,
    BackendRejected,
    BackendServerError,
    BackendTimeout,
    BackendUnavailable,
    MalformedResponse,
)
from rma.llm.backends.base import Backend
from rma.llm.types import ChatRequest, Chunk


def _status_error(status: int, detail: str, url: str, retry_after: float | None) -> BackendError:
    kw: dict[str, Any] = {"provider": "ollama", "replica": url, "status_code": status}
    if status == 429:
        return BackendOverloaded(f"ollama is busy (429): {detail}", retry_after=retry_after, **kw)
    if status >= 500:
        return BackendServerError(f"ollama server error {status}: {detail}", **kw)
    return BackendRejected(f"ollama rejected the request ({status}): {detail}", **kw)


def _transport_error(exc: httpx.HTTPError, url: str) -> BackendError:
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(f"ollama timed out: {exc!r}", provider="ollama", replica=url)
    return BackendUnavailable(
        f"ollama unreachable at {url}: {exc!r}", provider="ollama", replica=url
    )


class OllamaBackend(Backend):
    name = "ollama"

    def __init__(
        self,
        url: str,
        *,
        num_ctx: int = C.DEFAULT_OLLAMA_NUM_CTX,
        keep_alive: str = C.DEFAULT_OLLAMA_KEEP_ALIVE,
        connect_timeout: float = C.CONNECT_TIMEOUT,
        max_in_flight: int = C.OLLAMA_MAX_IN_FLIGHT,
    ) -> None:
        self.url = url.rstrip("/")
        self.num_ctx = self.context_window = num_ctx
        self.keep_alive = keep_alive
        self.max_in_flight = max_in_flight
        timeout = httpx.Timeout(None, connect=connect_timeout)
        self.client = httpx.AsyncClient(base_url=self.url, timeout=timeout)

    async def _raise_for_status(self, resp: httpx.Response) -> None:
        if resp.status_code < 400:
            return
        raw = await resp.aread()
        try:
            detail = str(json.loads(raw).get("error", raw[:300]))
        except (ValueError, AttributeError):
            detail = raw[:300].decode("utf-8", "replace")
        retry = resp.headers.get("retry-after")
        raise _status_error(
            resp.status_code, detail, self.url, float(retry) if retry and retry.isdigit() else None
        )

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        p = request.params
        options: dict[str, Any] = {
            "num_ctx": self.num_ctx,
            "temperature": p.temperature,
            "num_predict": p.max_tokens,
        }
        if p.stop:
            options["stop"] = list(p.stop)
        messages = []
        for m in request.messages:
            msg: dict[str, Any] = {"role": m.role, "content": m.content}
            if m.images:
                msg["images"] = [i.base64() for i in m.images]
            messages.append(msg)
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "stream": True,
            "options": options,
            "keep_alive": self.keep_alive,
        }
        if p.json_schema is not None:
            body["format"] = p.json_schema
        return body

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        try:
            async with self.client.stream("POST", "/api/chat", json=self._body(request)) as resp:
                await self._raise_for_status(resp)
                async for line in resp.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError as exc:
                        raise MalformedResponse(
                            f"ollama sent a line that is not JSON: {line[:80]!r}",
                            provider=self.name,
                            replica=self.url,
                        ) from exc
                    if "error" in event:
                        raise BackendServerError(
                            f"ollama failed mid-response: {event['error']}",
                            provider=self.name,
                            replica=self.url,
                        )
                    text = (event.get("message") or {}).get("content", "")
                    if text:
                        yield Chunk(text=text, replica=self.url)
                    if event.get("done"):
                        yield Chunk(
                            tokens_in=event.get("prompt_eval_count", 0),
                            tokens_out=event.get("eval_count", 0),
                            finish_reason=_finish(event.get("done_reason", "stop")),
                            replica=self.url,
                        )
                        return
                raise MalformedResponse(
                    "ollama closed the stream before its final 'done' message",
                    provider=self.name,
                    replica=self.url,
                )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.url) from exc

    async def _request_json(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """A non-streaming call: the JSON object Ollama answered, or a typed error."""
        try:
            resp = await self.client.request(method, path, json=body)
            await self._raise_for_status(resp)
            data = resp.json()
        except httpx.HTTPError as exc:
            raise _transport_error(exc, self.url) from exc
        except ValueError as exc:
            raise MalformedResponse(
                f"ollama sent non-JSON from {path}", provider=self.name, replica=self.url
            ) from exc
        if not isinstance(data, dict):
            raise MalformedResponse(
                f"ollama sent no JSON object from {path}", provider=self.name, replica=self.url
            )
        return data

    async def embed(self, model: str, texts: list[str]) -> tuple[list[list[float]], int, str]:
        # truncate=false: an over-long input is an error, not a silently shortened vector.
        body = {"model": model, "input": texts, "truncate": False, "keep_alive": self.keep_alive}
        data = await self._request_json("POST", "/api/embed", body)
        vectors = data.get("embeddings")
        if not isinstance(vectors, list) or len(vectors) != len(texts):
            raise MalformedResponse(
                "ollama /api/embed returned no usable 'embeddings'",
                provider=self.name,
                replica=self.url,
            )
        return vectors, int(data.get("prompt_eval_count", 0)), self.url

    def serves(self, model: str, available: list[str]) -> bool:
        # Ollama names carry a tag: "llava" means "llava:latest".
        return model in available or (":" not in model and f"{model}:latest" in available)

    async def list_models(self) -> list[str]:
        data = await self._request_json("GET", "/api/tags")
        return [m.get("name") or m.get("model", "") for m in data.get("models", [])]

    async def aclose(self) -> None:
        await self.client.aclose()


def _finish(reason: str) -> str:
    return "length" if reason == "length" else "stop"
