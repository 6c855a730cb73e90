"""The embedded default: SmolLM2 in-process through llama.cpp, MiniLM embeddings on ONNX.

Needs no server, GPU or network: the weights come from pinned packages (see
:mod:`rma.llm.assets`). llama.cpp and ONNX calls block, so they run on worker
threads; the event loop keeps serving other requests meanwhile. One llama.cpp
context generates one answer at a time, so chat runs on a single dedicated thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any

import numpy as np

from rma import constants as C
from rma.errors import BackendRejected, BackendServerError, InputTooLarge
from rma.llm import assets
from rma.llm.backends.base import Backend
from rma.llm.types import ChatRequest, Chunk, Role
from rma.text import TokenCounter

_DONE = object()


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over tokens, then L2 norm."""

    model_name = C.LOCAL_EMBED_MODEL
    dimension = 384
    max_tokens = 256

    @cached_property
    def _session(self) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = C.LOCAL_THREADS
        return onnxruntime.InferenceSession(
            str(assets.locate(assets.MINILM_ONNX)), options, providers=["CPUExecutionProvider"]
        )

    @cached_property
    def _tokenizer(self) -> Any:
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(assets.locate(assets.MINILM_TOKENIZER)))
        tok.enable_truncation(self.max_tokens)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        return tok

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(float).tolist(), int(mask.sum())


class LocalBackend(Backend):
    name = "local"
    roles = frozenset({Role.CHAT, Role.EMBED})
    max_in_flight = C.LOCAL_MAX_IN_FLIGHT

    def __init__(self, *, n_ctx: int = C.LOCAL_CONTEXT_TOKENS, n_threads: int = C.LOCAL_THREADS):
        self.n_ctx = self.context_window = n_ctx
        self.n_threads = n_threads
        self.chat_model = C.LOCAL_CHAT_MODEL
        self.embedder = MiniLMEmbedder()
        # llama.cpp contexts are not thread-safe: one thread owns the model.
        self._chat_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rma-llama")
        self._llama: Any = None

    def _load(self) -> Any:
        if self._llama is None:
            from llama_cpp import Llama

            self._llama = Llama(
                model_path=str(assets.locate(assets.SMOLLM2_GGUF)),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llama

    def _generate(self, request: ChatRequest, emit: Any, stop: threading.Event) -> None:
        llama = self._load()
        p = request.params
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        prompt_tokens = sum(
            len(llama.tokenize(m["content"].encode(), add_bos=False)) for m in messages
        )
        if prompt_tokens + p.max_tokens > self.n_ctx:
            raise InputTooLarge(
                f"prompt of ~{prompt_tokens} tokens plus max_tokens={p.max_tokens} exceeds the "
                f"local model's context of {self.n_ctx} tokens"
            )
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": p.max_tokens,
            "temperature": p.temperature,
            "stream": True,
        }
        if p.stop:
            kwargs["stop"] = list(p.stop)
        if p.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": p.json_schema}
        produced = 0
        finish = "stop"
        stream: Iterator[dict[str, Any]] = llama.create_chat_completion(**kwargs)
        for part in stream:
            if stop.is_set():
                finish = "cancelled"
                break
            choice = part["choices"][0]
            text = choice.get("delta", {}).get("content") or ""
            if text:
                produced += 1
                emit(Chunk(text=text, replica="in-process"))
            finish = choice.get("finish_reason") or finish
        emit(
            Chunk(
                tokens_in=prompt_tokens,
                tokens_out=produced,
                finish_reason=finish,
                replica="in-process",
            )
        )

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def emit(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def run() -> None:
            try:
                self._generate(request, emit, stop)
            except Exception as exc:
                emit(exc)
            finally:
                emit(_DONE)

        loop.run_in_executor(self._chat_thread, run)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    return
                if isinstance(item, InputTooLarge):
                    raise item
                if isinstance(item, ValueError):
                    raise BackendRejected(str(item), provider=self.name, replica="in-process")
                if isinstance(item, Exception):
                    raise BackendServerError(
                        f"local model failed: {item}", provider=self.name, replica="in-process"
                    )
                yield item
        finally:
            stop.set()  # the caller went away: stop generating

    def token_counter(self, model: str) -> TokenCounter | None:
        return self.embedder.count_tokens if model == self.embedder.model_name else None

    async def embed(self, model: str, texts: list[str]) -> tuple[list[list[float]], int, str]:
        vectors, tokens = await asyncio.to_thread(self.embedder.embed, texts)
        return vectors, tokens, "in-process"

    async def list_models(self) -> list[str]:
        # Checks the files exist and match their checksums.
        await asyncio.to_thread(assets.locate, assets.SMOLLM2_GGUF)
        await asyncio.to_thread(assets.locate, assets.MINILM_ONNX)
        return [self.chat_model, self.embedder.model_name]

    async def aclose(self) -> None:
        self._chat_thread.shutdown(wait=False, cancel_futures=True)
