"""Small value types shared by every backend and caller of the provider layer."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, computed_field, field_serializer

from rma import constants as C
from rma.errors import InputError


class Role(StrEnum):
    """What a model is used for; each role is routed to its own provider and model."""

    CHAT = "chat"
    EMBED = "embed"
    VISION = "vision"


@dataclass(frozen=True)
class Image:
    """An image attached to a message. Backends encode it as their API expects."""

    data: bytes
    mime: str = "image/png"

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.base64()}"


MessageRole = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: MessageRole
    content: str
    images: tuple[Image, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ("system", "user", "assistant"):
            raise InputError(f"unknown message role {self.role!r}: use system, user or assistant")

    @classmethod
    def system(cls, content: str) -> Message:
        return cls("system", content)

    @classmethod
    def user(cls, content: str, images: tuple[Image, ...] = ()) -> Message:
        return cls("user", content, images)

    @classmethod
    def assistant(cls, content: str) -> Message:
        return cls("assistant", content)


@dataclass(frozen=True)
class ChatParams:
    """Sampling and output options; ``json_schema`` asks for structured output."""

    max_tokens: int = C.DEFAULT_MAX_TOKENS
    temperature: float = 0.0
    json_schema: dict[str, Any] | None = None
    schema_name: str = "output"
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatRequest:
    """One chat call as a backend sees it: the model is already chosen."""

    model: str
    messages: tuple[Message, ...]
    params: ChatParams


class Hop(BaseModel):
    """One failed attempt on the way to an answer (or to the final error)."""

    provider: str
    model: str
    replica: str
    error: str
    message: str


class Provenance(BaseModel):
    """Where an answer came from, and what it cost. Returned with every result."""

    role: str
    provider: str
    model: str
    replica: str = ""
    hops: list[Hop] = Field(default_factory=list)
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    #: "primary": the configured chain; "canary": a migration candidate was tried first
    route: str = "primary"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def fallback(self) -> bool:
        """A backend other than this one failed on the way (the answer fell back)."""
        return any(h.provider != self.provider for h in self.hops)

    @field_serializer("latency_ms", "ttft_ms")
    def _milliseconds(self, value: float | None) -> float | None:
        return None if value is None else round(value, 1)


@dataclass
class ChatResult:
    text: str
    finish_reason: str
    provenance: Provenance


@dataclass
class EmbedResult:
    """L2-normalised vectors, with the model and dimension they belong to."""

    vectors: list[list[float]]
    model: str
    dimension: int
    provenance: Provenance


# Stream events, as yielded by ProviderRouter.stream_chat


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class StreamEnd:
    result: ChatResult


@dataclass(frozen=True)
class StreamFailed:
    """The stream broke after its first token; ``error`` says why."""

    error: str
    message: str
    partial_text: str


StreamEvent = TextDelta | StreamEnd | StreamFailed

M = TypeVar("M", bound=BaseModel)


@dataclass
class Structured(Generic[M]):
    """A validated structured reply, the call behind it, and how it was read."""

    value: M
    result: ChatResult
    attempts: int = 1
    #: the reply stopped before its JSON was complete; what was whole was kept
    cut_short: bool = False
    #: top-level lists the reply never reached (read as empty)
    never_reached: list[str] = field(default_factory=list)


# Events of ProviderRouter.stream_structured, besides TextDelta


@dataclass(frozen=True)
class StructuredRetry:
    """The reply did not match the schema; the model is asked once more, told why."""

    problem: str


@dataclass(frozen=True)
class StructuredEnd(Generic[M]):
    structured: Structured[M]


StructuredEvent = TextDelta | StructuredRetry | StructuredEnd[Any]


# What a backend yields while streaming (the router turns these into StreamEvents)


@dataclass(frozen=True)
class Chunk:
    text: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    finish_reason: str | None = None
    replica: str = ""


def l2_normalise(vectors: list[list[float]]) -> list[list[float]]:
    out = []
    for vec in vectors:
        norm = math.sqrt(sum(x * x for x in vec))
        out.append([x / norm for x in vec] if norm > 0 else list(vec))
    return out
