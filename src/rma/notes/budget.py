"""How much of a model's context one set of notes may use.

The notes must fit the smallest context window along the chat chain, after the
prompt and the reply's token budget. Tokens are estimated on the high side, so notes
that pass here fit; notes that do not are refused with the limit named (413), never cut.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rma import constants as C
from rma.config import Settings
from rma.errors import InputTooLarge

# The extraction reply's share of the context.
EXTRACT_MAX_TOKENS = 640
# Per chat message, for the chat template's role markers.
MESSAGE_OVERHEAD_TOKENS = 16
SAFETY_TOKENS = 64
# Whatever the model's context, notes longer than this are not one appointment.
MAX_NOTES_CHARS = 20_000


def context_tokens(settings: Settings) -> int:
    """The smallest context window along the chat chain: the notes must fit whichever
    backend ends up answering."""
    sizes = {
        "vllm": settings.vllm_context_tokens,
        "ollama": settings.ollama_num_ctx,
        "local": C.LOCAL_CONTEXT_TOKENS,
    }
    return min(sizes[name] for name in settings.chat_chain)


def estimate_tokens(text: str) -> int:
    """A deliberately high token count for ``text``: tokenizers split digits and symbols
    one by one and cut short words rarely, long or unusual words into pieces."""
    count = 0
    for piece in re.findall(r"[A-Za-z]+|\d|\s+|[^\sA-Za-z\d]", text):
        if piece[0].isalpha():
            count += max(1, math.ceil(len(piece) / 3))
        elif not piece.isspace() or "\n" in piece:
            count += 1
    return count


@dataclass(frozen=True)
class NotesBudget:
    """How many tokens of notes fit in one extraction call on this deployment."""

    context: int
    notes_tokens: int

    @property
    def approx_chars(self) -> int:
        # Typical case notes run about 2.6 characters a token; say so in round figures.
        return int(self.notes_tokens * 2.5) // 100 * 100


def notes_budget(settings: Settings, prompt_text: str) -> NotesBudget:
    """``prompt_text``: everything sent with the notes (system and user text)."""
    context = context_tokens(settings)
    fixed = (
        estimate_tokens(prompt_text)
        + 2 * MESSAGE_OVERHEAD_TOKENS
        + SAFETY_TOKENS
        + EXTRACT_MAX_TOKENS
    )
    return NotesBudget(context, max(0, context - fixed))


def check_size(notes: str, settings: Settings, prompt_text: str) -> NotesBudget:
    """Raise :class:`InputTooLarge` (413) naming the limit if the notes do not fit."""
    budget = notes_budget(settings, prompt_text)
    if len(notes) > MAX_NOTES_CHARS:
        raise InputTooLarge(
            f"the notes have {len(notes)} characters; the limit is {MAX_NOTES_CHARS} "
            "(one appointment's notes). Split them into one request per appointment."
        )
    needed = estimate_tokens(notes)
    if needed > budget.notes_tokens:
        raise InputTooLarge(
            f"the notes need about {needed} tokens; with a model context of "
            f"{budget.context} tokens the limit is {budget.notes_tokens} tokens of notes "
            f"(about {budget.approx_chars} characters). Shorten or split the notes, or "
            "configure a model with a larger context (VLLM_CONTEXT_TOKENS, OLLAMA_NUM_CTX)."
        )
    return budget
