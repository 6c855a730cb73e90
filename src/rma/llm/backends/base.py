"""The small async interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

from rma.errors import CapabilityError
from rma.llm.types import ChatRequest, Chunk, Role


class Backend(ABC):
    """A model server (or in-process model). Raises :mod:`rma.errors` types only."""

    #: provider name as used in settings: "vllm", "ollama", "local"
    name: str
    #: roles this backend can serve
    roles: frozenset[Role] = frozenset({Role.CHAT, Role.EMBED, Role.VISION})
    #: requests it may have in flight at once before callers queue
    max_in_flight: int = 1

    @abstractmethod
    def stream_chat(self, request: ChatRequest) -> AsyncIterator[Chunk]:
        """Yield text chunks; the last carries token counts and finish reason."""

    @abstractmethod
    async def embed(self, model: str, texts: list[str]) -> tuple[list[list[float]], int, str]:
        """Embed ``texts``: (vectors, tokens used, replica)."""

    @abstractmethod
    async def list_models(self) -> list[str]:
        """Model names the backend can serve now (used by readiness checks)."""

    def has_other_replica(self) -> bool:
        """Whether a retry could go to a replica other than one that just failed."""
        return False

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads."""

    def require(self, role: Role) -> None:
        if role not in self.roles:
            raise CapabilityError(f"the {self.name!r} backend cannot serve the {role} role")
