"""The provider layer: every model call in RMA goes through :class:`ProviderRouter`.

- ``types``: messages, results, provenance, stream events
- ``backends/``: one module per backend (``vllm``, ``ollama``, ``local``)
- ``router``: fallback chain, retries, circuit breakers, concurrency limits
- ``factory``: builds the router from :class:`rma.config.Settings`
"""

from rma.llm.router import ProviderRouter
from rma.llm.types import ChatResult, EmbedResult, Image, Message, Provenance, Role

__all__ = ["ChatResult", "EmbedResult", "Image", "Message", "Provenance", "ProviderRouter", "Role"]
