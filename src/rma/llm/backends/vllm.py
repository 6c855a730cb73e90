"""vLLM (or any OpenAI-compatible server) through the official ``openai`` async SDK.

Several replicas may be configured; each call goes to the replica with the fewest
requests in flight, skipping replicas that refused a connection in the last few
seconds. The SDK's own retries are off: the router owns retrying.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import openai

from rma import constants as C
from rma.errors import (
    BackendError,
    BackendOverloaded,
    BackendRejected,
    BackendServerError,
    BackendTimeout,
    BackendUnavailable,
    ContextTooLong,
    MalformedResponse,
)
from rma.llm.backends.base import Backend
from rma.llm.types import ChatRequest, Chunk, Message

REPLICA_COOLDOWN = 5.0


@dataclass
class Replica:
    url: str
    client: openai.AsyncOpenAI
    in_flight: int = 0
    down_until: float = 0.0
    served: int = field(default=0)


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def map_openai_error(exc: Exception, provider: str, replica: str) -> BackendError:
    """Translate SDK exceptions into the router's error types."""
    kw: dict[str, Any] = {"provider": provider, "replica": replica}
    if isinstance(exc, openai.APITimeoutError):
        return BackendTimeout(f"{provider} timed out: {exc}", **kw)
    if isinstance(exc, openai.APIConnectionError):
        return BackendUnavailable(f"{provider} unreachable at {replica}: {exc}", **kw)
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc.status_code, _error_detail(exc.body, exc), exc, kw)
    if isinstance(exc, (openai.APIResponseValidationError, json.JSONDecodeError)):
        return MalformedResponse(f"{provider} sent a malformed response: {exc}", **kw)
    if isinstance(exc, openai.APIError):
        # An error event inside an open stream: vLLM sends {"error": {..., "code": status}}.
        code = exc.body.get("code") if isinstance(exc.body, dict) else None
        detail = _error_detail(exc.body, exc)
        if isinstance(code, int) and 400 <= code < 500:
            return _status_error(code, detail, exc, kw)
        return BackendServerError(f"{provider} failed mid-response: {detail}", **kw)
    return BackendUnavailable(f"{provider} failed: {type(exc).__name__}: {exc}", **kw)


def _status_error(status: int, detail: str, exc: Exception, kw: dict[str, Any]) -> BackendError:
    provider = kw["provider"]
    kw = {**kw, "status_code": status}
    if status == 429:
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else None
        return BackendOverloaded(
            f"{provider} is overloaded (429): {detail}", retry_after=_retry_after(headers), **kw
        )
    if status >= 500:
        return BackendServerError(f"{provider} server error {status}: {detail}", **kw)
    if status == 400 and "maximum context length" in detail:
        return ContextTooLong(f"{provider}: the prompt does not fit its context: {detail}", **kw)
    return BackendRejected(f"{provider} rejected the request ({status}): {detail}", **kw)


def _error_detail(body: object, exc: Exception) -> str:
    if isinstance(body, dict):
        msg = body.get("message") or body.get("error") or body
        if isinstance(msg, dict):
            msg = msg.get("message", msg)
        return str(msg)[:300]
    return str(exc)[:300]


def to_openai_messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Images become ``image_url`` parts carrying data URLs, as the Chat API takes them."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.images:
            parts: list[dict[str, Any]] = [{"type": "text", "text": m.content}]
            parts += [{"type": "image_url", "image_url": {"url": i.data_url()}} for i in m.images]
            out.append({"role": m.role, "content": parts})
        else:
            out.append({"role": m.role, "content": m.content})
    return out


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(
        self,
        urls: list[str],
        *,
        api_key: str = "",
        connect_timeout: float = C.CONNECT_TIMEOUT,
        max_in_flight: int = C.VLLM_MAX_IN_FLIGHT,
        context_window: int = C.DEFAULT_VLLM_CONTEXT_TOKENS,
        name: str = "vllm",
    ) -> None:
        self.name = name
        self.max_in_flight = max_in_flight
        self.context_window = context_window
        # Read timeouts are the router's (first token, total); connect is the socket's.
        timeout = openai.Timeout(None, connect=connect_timeout)
        self.replicas = [
            Replica(
                url=url,
                client=openai.AsyncOpenAI(
                    base_url=url, api_key=api_key or "EMPTY", max_retries=0, timeout=timeout
                ),
            )
            for url in urls
        ]
        self._tie = itertools.count()

    def _pick(self) -> Replica:
        now = time.monotonic()
        up = [r for r in self.replicas if r.down_until <= now] or self.replicas
        lowest = min(r.in_flight for r in up)
        candidates = [r for r in up if r.in_flight == lowest]
        return candidates[next(self._tie) % len(candidates)]

    def _failed(self, replica: Replica, err: BackendError) -> BackendError:
        if isinstance(err, (BackendUnavailable, BackendTimeout)) and len(self.replicas) > 1:
            replica.down_until = time.monotonic() + REPLICA_COOLDOWN
        return err

    def has_other_replica(self) -> bool:
        now = time.monotonic()
        return len(self.replicas) > 1 and any(r.down_until <= now for r in self.replicas)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        replica = self._pick()
        replica.in_flight += 1
        replica.served += 1
        p = request.params
        kwargs: dict[str, Any] = {
            "model": request.model,
            "messages": to_openai_messages(request.messages),
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if p.stop:
            kwargs["stop"] = list(p.stop)
        if p.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": p.schema_name, "schema": p.json_schema, "strict": True},
            }
        try:
            try:
                stream = await replica.client.chat.completions.create(**kwargs)
                finish: str | None = None
                async for event in stream:
                    if event.choices:
                        choice = event.choices[0]
                        text = choice.delta.content or "" if choice.delta else ""
                        finish = choice.finish_reason or finish
                        if text:
                            yield Chunk(text=text, replica=replica.url)
                    if event.usage is not None:
                        yield Chunk(
                            tokens_in=event.usage.prompt_tokens,
                            tokens_out=event.usage.completion_tokens,
                            finish_reason=finish or "stop",
                            replica=replica.url,
                        )
                        finish = None
                if finish is not None:  # server sent no usage block
                    yield Chunk(finish_reason=finish, replica=replica.url)
            except BackendError:
                raise
            except Exception as exc:
                raise self._failed(replica, map_openai_error(exc, self.name, replica.url)) from exc
        finally:
            replica.in_flight -= 1

    async def embed(self, model: str, texts: list[str]) -> tuple[list[list[float]], int, str]:
        replica = self._pick()
        replica.in_flight += 1
        try:
            resp = await replica.client.embeddings.create(model=model, input=texts)
        except Exception as exc:
            raise self._failed(replica, map_openai_error(exc, self.name, replica.url)) from exc
        finally:
            replica.in_flight -= 1
        data = sorted(resp.data, key=lambda d: d.index)
        if len(data) != len(texts):
            raise MalformedResponse(
                f"{self.name} returned {len(data)} embeddings for {len(texts)} inputs",
                provider=self.name,
                replica=replica.url,
            )
        tokens = resp.usage.prompt_tokens if resp.usage else 0
        return [list(d.embedding) for d in data], tokens, replica.url

    async def list_models(self) -> list[str]:
        replica = self._pick()
        try:
            page = await replica.client.models.list()
        except Exception as exc:
            raise map_openai_error(exc, self.name, replica.url) from exc
        return [m.id for m in page.data]

    async def aclose(self) -> None:
        for r in self.replicas:
            await r.client.close()
