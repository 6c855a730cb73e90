"""A faithful stand-in for Ollama's HTTP API, for tests (Ollama cannot run here).

Implements the parts RMA uses, as documented in Ollama's docs/api.md:
``POST /api/chat`` (NDJSON streaming or one object with ``stream: false``; ``format``
as ``"json"`` or a JSON schema; ``images`` as raw base64; ``options``; ``keep_alive``),
``POST /api/embed`` (``input`` string or list, ``truncate``), ``GET /api/tags``,
``GET /api/version``. Errors are ``{"error": "..."}`` bodies with Ollama's status codes;
an error during a stream arrives as an ``{"error": ...}`` line (with ``stream: false``, as
the error status and body). Like Ollama, a prompt
longer than ``options.num_ctx`` (default 2048) is silently truncated; the fake records
that, so tests can prove RMA always sets ``num_ctx``.

Test-only controls (not part of Ollama): ``POST /_control`` to script failures, delays
and replies (``reply`` for every call, ``replies`` for the next calls in turn;
``fail_next`` fails the next calls; calls whose messages (or input) are listed in ``spare``
take neither a failure nor one of the ``replies``),
``GET /_requests`` for the recorded requests, ``GET /_stats`` for concurrency.

Run: ``python -m tests.fakes.ollama --port 11434 --models llama3.1:8b,llava:7b,all-minilm``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_NUM_CTX = 2048
EMBED_DIM = 384


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0


def instance_of(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Any:
    """A value that satisfies a (simple) JSON schema, as constrained decoding would give."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return instance_of(defs[schema["$ref"].split("/")[-1]], defs)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return instance_of(options[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: instance_of(sub, defs) for name, sub in props.items()}
    if kind == "array":
        return [instance_of(schema.get("items", {"type": "string"}), defs)] * schema.get(
            "minItems", 0
        )
    if kind == "string":
        return "2025-01-31" if schema.get("format") == "date" else "example"
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    return None


class FakeOllama:
    def __init__(self, models: list[str]) -> None:
        self.models = [m if ":" in m else f"{m}:latest" for m in models]
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.control: dict[str, Any] = {}
        self.token_delay = 0.0
        # Like OLLAMA_NUM_PARALLEL: requests beyond it wait in Ollama's queue, unanswered.
        self.parallel: asyncio.Semaphore | None = None

    # -------------------------------------------------------------- helpers

    def _find(self, name: str | None) -> str | None:
        if not name:
            return None
        full = name if ":" in name else f"{name}:latest"
        return full if full in self.models else None

    def _take_failure(self, messages: object) -> dict[str, Any] | None:
        fail = self.control.get("fail_next", 0)
        if fail > 0 and messages not in self.control.get("spare", []):
            self.control["fail_next"] = fail - 1
            return {
                "status": self.control.get("status", 500),
                "error": self.control.get("error", ""),
            }
        return None

    def error(self, status: int, message: str) -> JSONResponse:
        headers = {}
        if status == 429 and "retry_after" in self.control:
            headers["Retry-After"] = str(self.control["retry_after"])
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    # -------------------------------------------------------------- endpoints

    async def version(self, _: Request) -> Response:
        return JSONResponse({"version": "0.6.2"})

    async def tags(self, _: Request) -> Response:
        models = [
            {
                "name": m,
                "model": m,
                "modified_at": "2025-01-01T00:00:00Z",
                "size": 4_000_000_000,
                "digest": hashlib.sha256(m.encode()).hexdigest(),
                "details": {
                    "parent_model": "",
                    "format": "gguf",
                    "family": m.split(":")[0],
                    "families": [m.split(":")[0]],
                    "parameter_size": "8B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for m in self.models
        ]
        return JSONResponse({"models": models})

    async def _body(self, request: Request) -> dict[str, Any] | Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return self.error(400, "invalid character in request body")
        if not isinstance(body, dict):
            return self.error(400, "json: cannot unmarshal into Go value of type api.Request")
        return body

    async def chat(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        self.requests.append({"path": "/api/chat", "body": body})
        if not body.get("model"):
            return self.error(400, "model is required")
        model = self._find(body["model"])
        if model is None:
            return self.error(404, f'model "{body["model"]}" not found, try pulling it first')
        messages = body.get("messages", [])
        if not isinstance(messages, list):
            return self.error(400, "messages must be a list")
        for m in messages:
            if m.get("role") not in ("system", "user", "assistant", "tool"):
                return self.error(400, f"invalid role: {m.get('role')}")
            for img in m.get("images") or []:
                if not isinstance(img, str) or img.startswith("data:"):
                    return self.error(400, "illegal base64 data at input byte 4")
                try:
                    base64.b64decode(img, validate=True)
                except (binascii.Error, ValueError):
                    return self.error(400, "illegal base64 data at input byte 0")
        if self.control.get("garbage"):
            return StreamingResponse(iter(["<html>proxy error</html>\n"]), media_type="text/html")
        failure = self._take_failure(messages)
        if failure and not self.control.get("mid_stream"):
            return self.error(
                failure["status"], failure["error"] or "llama runner process has terminated"
            )
        options = body.get("options") or {}
        num_ctx = int(options.get("num_ctx", DEFAULT_NUM_CTX))
        prompt = " ".join(str(m.get("content", "")) for m in messages)
        prompt_tokens = _tokens(prompt)
        truncated = prompt_tokens > num_ctx
        self.requests[-1]["truncated"] = truncated
        self.requests[-1]["num_ctx_set"] = "num_ctx" in options
        reply = self._reply(body, messages)
        words = reply.split(" ")
        limit = options.get("num_predict")
        done_reason = "stop"
        if isinstance(limit, int) and 0 < limit < len(words):
            words = words[:limit]
            done_reason = "length"
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        final = {
            "model": body["model"],
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done_reason": done_reason,
            "done": True,
            "total_duration": 1_000_000,
            "load_duration": 10_000,
            "prompt_eval_count": min(prompt_tokens, num_ctx),
            "prompt_eval_duration": 100_000,
            "eval_count": len(pieces),
            "eval_duration": 800_000,
        }
        delay = float(self.control.get("delay", 0.0))
        mid_stream = failure is not None and self.control.get("mid_stream")
        if body.get("stream", True) is False:
            async with self._turn():
                await asyncio.sleep(delay + self.token_delay * len(pieces))
            if mid_stream:
                # Without a stream, a failure while generating is the HTTP response itself.
                return self.error(
                    failure["status"],
                    failure["error"] or "an error was encountered while running the model",
                )
            final["message"] = {"role": "assistant", "content": "".join(pieces)}
            return JSONResponse(final)

        async def lines() -> Any:
            async with self._turn():
                await asyncio.sleep(delay)
                for i, piece in enumerate(pieces):
                    if mid_stream and i == max(1, len(pieces) // 2):
                        yield (
                            json.dumps(
                                {
                                    "error": failure["error"]
                                    or "an error was encountered while running the model"
                                }
                            )
                            + "\n"
                        )
                        return
                    yield (
                        json.dumps(
                            {
                                "model": body["model"],
                                "created_at": _now(),
                                "message": {"role": "assistant", "content": piece},
                                "done": False,
                            }
                        )
                        + "\n"
                    )
                    await asyncio.sleep(self.token_delay)
                yield json.dumps(final) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """One request being generated: after its wait in the queue, if ``parallel`` is set."""
        async with self.parallel or nullcontext():
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1

    def _reply(self, body: dict[str, Any], messages: list[dict[str, Any]]) -> str:
        # one scripted reply per call, in turn; a spared call (a probe) takes none of them
        if self.control.get("replies") and messages not in self.control.get("spare", []):
            return str(self.control["replies"].pop(0))
        if "reply" in self.control:
            return str(self.control["reply"])
        fmt = body.get("format")
        if isinstance(fmt, dict):
            return json.dumps(instance_of(fmt))
        if fmt == "json":
            return "{}"
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        if last.get("images"):
            return "Text read from the image by the fake vision model."
        return "This is the fake Ollama answer."

    async def embed(self, request: Request) -> Response:
        body = await self._body(request)
        if isinstance(body, Response):
            return body
        self.requests.append({"path": "/api/embed", "body": body})
        if not body.get("model"):
            return self.error(400, "model is required")
        if self._find(body["model"]) is None:
            return self.error(404, f'model "{body["model"]}" not found, try pulling it first')
        failure = self._take_failure(body.get("input"))
        if failure:
            return self.error(failure["status"], failure["error"] or "embedding failed")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            return self.error(400, "invalid input type")
        num_ctx = int((body.get("options") or {}).get("num_ctx", DEFAULT_NUM_CTX))
        if body.get("truncate") is False and any(_tokens(t) > num_ctx for t in inputs):
            return self.error(400, "input length exceeds maximum context length")
        vectors = [self._vector(t) for t in inputs]
        return JSONResponse(
            {
                "model": body["model"],
                "embeddings": vectors,
                "total_duration": 1_000_000,
                "load_duration": 10_000,
                "prompt_eval_count": sum(_tokens(t) for t in inputs),
            }
        )

    @staticmethod
    def _vector(text: str) -> list[float]:
        seed = hashlib.sha256(text.encode()).digest()
        raw = [((seed[i % 32] + i * 7) % 255) / 127.0 - 1.0 for i in range(EMBED_DIM)]
        norm = math.sqrt(sum(x * x for x in raw)) or 1.0
        return [x / norm for x in raw]

    # -------------------------------------------------------------- test controls

    async def set_control(self, request: Request) -> Response:
        self.control = await request.json()
        self.token_delay = float(self.control.get("token_delay", 0.0))
        parallel = self.control.get("parallel")
        self.parallel = asyncio.Semaphore(int(parallel)) if parallel else None
        return JSONResponse({"ok": True})

    async def recorded(self, _: Request) -> Response:
        return JSONResponse(self.requests)

    async def stats(self, _: Request) -> Response:
        return JSONResponse({"in_flight": self.in_flight, "max_in_flight": self.max_in_flight})

    async def reset(self, _: Request) -> Response:
        self.requests.clear()
        self.control = {}
        self.token_delay = 0.0
        self.parallel = None
        self.max_in_flight = 0
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        async def root(_: Request) -> Response:
            return Response("Ollama is running", media_type="text/plain")

        return Starlette(
            routes=[
                Route("/", root),
                Route("/api/version", self.version),
                Route("/api/tags", self.tags),
                Route("/api/chat", self.chat, methods=["POST"]),
                Route("/api/embed", self.embed, methods=["POST"]),
                Route("/_control", self.set_control, methods=["POST"]),
                Route("/_requests", self.recorded),
                Route("/_stats", self.stats),
                Route("/_reset", self.reset, methods=["POST"]),
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--models", default="llama3.1:8b,llava:7b,all-minilm")
    args = parser.parse_args()
    fake = FakeOllama(args.models.split(","))
    uvicorn.run(fake.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    time.tzset()
    main()
