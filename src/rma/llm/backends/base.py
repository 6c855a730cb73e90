"""The small async interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass

from rma import constants as C
from rma.errors import CapabilityError
from rma.llm.types import ChatRequest, Chunk, Role
from rma.text import TokenCounter


class Backend(ABC):
    """A model server (or in-process model). Raises :mod:`rma.errors` types only."""

    #: provider name as used in settings: "vllm", "ollama", "local"
    name: str
    #: roles this backend can serve
    roles: frozenset[Role] = frozenset({Role.CHAT, Role.EMBED, Role.VISION})
    #: requests it may have in flight at once before callers queue
    max_in_flight: int = C.LOCAL_MAX_IN_FLIGHT
    #: tokens the served chat model takes in one call, prompt and reply together
    context_window: int = C.LOCAL_CONTEXT_TOKENS

    @abstractmethod
    def stream_chat(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Yield text chunks; the last carries token counts and finish reason."""

    @abstractmethod
    async def embed(self, model: str, texts: list[str]) -> tuple[list[list[float]], int, str]:
        """Embed ``texts``: (vectors, tokens used, replica)."""

    @abstractmethod
    async def list_models(self) -> list[str]:
        """Model names the backend can serve now (used by readiness checks)."""

    def serves(self, model: str, available: list[str]) -> bool:
        """Whether ``model`` is among the ``available`` names :meth:`list_models` gave."""
        return model in available

    def token_counter(self, model: str) -> TokenCounter | None:
        """``model``'s own token counter when it runs in this process; None otherwise."""
        return None

    def has_other_replica(self) -> bool:
        """Whether a retry could go to a replica other than one that just failed."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads."""

    def require(self, role: Role) -> None:
        if role not in self.roles:
            raise CapabilityError(f"the {self.name!r} backend cannot serve the {role} role")


@dataclass(frozen=True)
class Target:
    """A backend and the model it serves for one role: one link of a router's chain."""

    backend: Backend
    model: str

    @property
    def provider(self) -> str:
        return self.backend.name
