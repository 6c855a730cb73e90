"""A faithful stand-in for vLLM's OpenAI-compatible server (a chat model, or a VLM), for tests.

Implements the parts RMA uses, as the OpenAI Chat Completions API defines them and vLLM
serves them: ``GET /v1/models``; ``POST /v1/chat/completions`` with ``content`` either a
string or a list of parts (``{"type": "text", "text": ...}`` and ``{"type": "image_url",
"image_url": {"url": "data:image/png;base64,..."}}``), ``max_tokens`` or
``max_completion_tokens``, ``response_format`` (``json_schema``), ``stream`` with
server-sent events (``data: {chunk}`` lines, a final chunk with ``finish_reason``, a
usage chunk with empty ``choices`` when ``stream_options.include_usage`` is true, then
``data: [DONE]``). Images are checked like a real server checks them: a data URL with an
image MIME type, valid base64, bytes that are an image of that type; raw base64 without
the ``data:`` prefix is refused.

It fails the way vLLM fails (vllm/entrypoints/serve/exception_handling/error_response.py):
errors are ``{"error": {"message", "type", "param", "code"}}`` with vLLM's type names
(``BadRequestError``, ``NotFoundError``, ``InternalServerError`` ...) and the status as an
integer ``code``; a prompt longer than the context window (``max_model_len``) is a 400
worded as vLLM words it, and ``max_tokens`` is cut to what is left of the window; an
error during generation in a stream is one ``data: {"error": {...}}`` event after the
text sent so far, then ``data: [DONE]``, as vLLM's stream generator sends it (and, without
``stream``, the same error as the HTTP response).

Test-only controls (not part of the API): ``POST /_control`` (``reply``, ``fail_next``
and ``spare``, the messages it leaves alone, ``status``, ``error``, ``retry_after``,
``token_delay``, ``mid_stream``, ``max_model_len``), ``GET /_requests``, ``GET /_stats``,
``POST /_reset``.

Run: ``python -m tests.fakes.openai_vision --port 8000 --models qwen2-vl-2b-instruct``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import re
import time
import uuid
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.ollama import instance_of

DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|webp|gif));base64,(.*)$", re.S)
MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}
CONTEXT_TOKENS = 4096
# vLLM's ``type`` for each status (create_error_response; GracefulHTTPError uses the phrase).
ERROR_TYPES = {
    400: "BadRequestError",
    404: "NotFoundError",
    422: "UnprocessableEntityError",
    429: "Too Many Requests",
    500: "InternalServerError",
    501: "NotImplementedError",
    503: "ServiceUnavailableError",
}


def _tokens(text: str) -> int:
    return max(1, len(text.split())) if text else 0


class FakeOpenAIVision:
    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.requests: list[dict[str, Any]] = []
        self.control: dict[str, Any] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    @staticmethod
    def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
        kind = ERROR_TYPES.get(
            status, "InternalServerError" if status >= 500 else "BadRequestError"
        )
        return {"error": {"message": message, "type": kind, "param": param, "code": status}}

    @classmethod
    def error(
        cls, status: int, message: str, *, param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> JSONResponse:  # fmt: skip
        return JSONResponse(
            cls.error_body(status, message, param), status_code=status, headers=headers
        )

    # ------------------------------------------------------------------ validation

    def _check_content(self, content: Any, where: str) -> tuple[str, int] | JSONResponse:
        """(text, image count) of one message's content, or the error a server returns."""
        if isinstance(content, str):
            return content, 0
        if not isinstance(content, list):
            return self.error(400, f"{where}.content must be a string or an array of parts")
        text, images = [], 0
        for i, part in enumerate(content):
            at = f"{where}.content[{i}]"
            if not isinstance(part, dict) or "type" not in part:
                return self.error(400, f"{at} must be an object with a 'type'", param=at)
            if part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    return self.error(400, f"{at}.text must be a string", param=at)
                text.append(part["text"])
            elif part["type"] == "image_url":
                image_url = part.get("image_url")
                if not isinstance(image_url, dict) or not isinstance(image_url.get("url"), str):
                    return self.error(
                        400, f"{at}.image_url must be an object with a 'url' string", param=at
                    )
                problem = self._check_image(image_url["url"])
                if problem:
                    return self.error(400, f"{at}: {problem}", param=at)
                images += 1
            else:
                return self.error(400, f"{at}: unknown content part type {part['type']!r}")
        return " ".join(text), images

    @staticmethod
    def _check_image(url: str) -> str:
        if url.startswith(("http://", "https://")):
            return "this server cannot fetch remote images; send a data URL"
        match = DATA_URL.match(url)
        if not match:
            return "image_url.url must be a data URL like data:image/png;base64,..."
        mime, payload = match.groups()
        try:
            raw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return "the image data is not valid base64"
        if not raw.startswith(MAGIC[mime]):
            return f"the image data is not a {mime} image"
        return ""

    def _take_failure(self, messages: object) -> dict[str, Any] | None:
        left = int(self.control.get("fail_next", 0))
        if left <= 0 or messages in self.control.get("spare", []):
            return None
        self.control["fail_next"] = left - 1
        return self.control

    # ------------------------------------------------------------------ endpoints

    async def list_models(self, _: Request) -> Response:
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "vllm"}
            for m in self.models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def chat(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return self.error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return self.error(400, "the request body must be a JSON object")
        self.requests.append({"path": "/v1/chat/completions", "body": body})
        model = body.get("model")
        if model not in self.models:
            return self.error(404, f"The model `{model}` does not exist.")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.error(400, "messages must be a non-empty array", param="messages")
        prompt, images = [], 0
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in (
                "system", "user", "assistant", "tool", "developer"
            ):  # fmt: skip
                return self.error(400, f"messages[{i}].role is invalid", param=f"messages[{i}]")
            checked = self._check_content(m.get("content"), f"messages[{i}]")
            if isinstance(checked, JSONResponse):
                return checked
            prompt.append(checked[0])
            images += checked[1]
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            return self.error(400, "max_tokens must be a positive integer", param="max_tokens")
        prompt_tokens = _tokens(" ".join(prompt)) + 256 * images
        window = int(self.control.get("max_model_len", CONTEXT_TOKENS))
        if prompt_tokens > window:
            return self.error(
                400,
                f"This model's maximum context length is {window} tokens. However, your "
                f"prompt contains {prompt_tokens} input tokens, which exceeds this limit even "
                f"without any output tokens. Please reduce the length of the input prompt. "
                f"(parameter=input_tokens, value={prompt_tokens})",
                param="input_tokens",
            )
        limit = min(limit, window - prompt_tokens) if limit is not None else window - prompt_tokens
        failure = self._take_failure(messages)
        in_stream = failure is not None and failure.get("mid_stream") and body.get("stream")
        if failure and not in_stream:
            status = int(failure.get("status", 500))
            headers = (
                {"Retry-After": str(failure["retry_after"])} if "retry_after" in failure else None
            )
            return self.error(status, failure.get("error") or "scripted failure", headers=headers)
        reply = self._reply(body, images)
        words = reply.split(" ")
        finish = "stop"
        if limit < len(words):
            words, finish = words[:limit], "length"
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        # Each image costs tokens in a real VLM; count a fixed amount so usage is plausible.
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        delay = float(self.control.get("token_delay", 0.0))
        if not body.get("stream"):
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(delay * len(pieces))
            finally:
                self.in_flight -= 1
            return JSONResponse(
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(pieces)},
                            "logprobs": None,
                            "finish_reason": finish,
                        }
                    ],
                    "usage": usage,
                }
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None) -> str:
            event = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            return f"data: {json.dumps(event)}\n\n"

        async def events() -> Any:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                yield chunk({"role": "assistant", "content": ""}, None)
                for i, piece in enumerate(pieces):
                    if in_stream and i == len(pieces) // 2:
                        # vLLM: "data: {ErrorResponse}" from the generator, then [DONE].
                        status = int(failure.get("status", 500))
                        message = failure.get("error") or "Internal server error"
                        yield f"data: {json.dumps(self.error_body(status, message))}\n\n"
                        yield "data: [DONE]\n\n"
                        return
                    await asyncio.sleep(delay)
                    yield chunk({"content": piece}, None)
                yield chunk({}, finish)
                if include_usage:
                    event = {
                        "id": ident,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                    yield f"data: {json.dumps(event)}\n\n"
                yield "data: [DONE]\n\n"
            finally:
                self.in_flight -= 1

        return StreamingResponse(events(), media_type="text/event-stream")

    def _reply(self, body: dict[str, Any], images: int) -> str:
        if "reply" in self.control:
            return str(self.control["reply"])
        fmt = body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return json.dumps(instance_of(fmt["json_schema"]["schema"]))
        if images:
            return "Text read from the image by the fake vision model."
        return "This is the fake OpenAI-compatible answer."

    # ------------------------------------------------------------------ test controls

    async def set_control(self, request: Request) -> Response:
        self.control = await request.json()
        return JSONResponse({"ok": True})

    async def recorded(self, _: Request) -> Response:
        return JSONResponse(self.requests)

    async def stats(self, _: Request) -> Response:
        return JSONResponse({"in_flight": self.in_flight, "max_in_flight": self.max_in_flight})

    async def reset(self, _: Request) -> Response:
        self.requests.clear()
        self.control = {}
        self.max_in_flight = 0
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        async def health(_: Request) -> Response:
            return Response(status_code=200)

        return Starlette(
            routes=[
                Route("/health", health),
                Route("/v1/models", self.list_models),
                Route("/v1/chat/completions", self.chat, methods=["POST"]),
                Route("/_control", self.set_control, methods=["POST"]),
                Route("/_requests", self.recorded),
                Route("/_stats", self.stats),
                Route("/_reset", self.reset, methods=["POST"]),
            ]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--models", default="qwen2-vl-2b-instruct")
    args = parser.parse_args()
    fake = FakeOpenAIVision(args.models.split(","))
    uvicorn.run(fake.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
