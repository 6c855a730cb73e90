"""How much of a model's context one set of notes may use.

The notes must fit the chat role's context window (the router's: the smallest along
the chain), after the prompt and the reply's token budget. Tokens are estimated on the
high side (:func:`rma.text.estimate_tokens`), so notes that pass here fit; notes that
do not are refused with the limit named (413), never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from rma import constants as C
from rma.errors import InputTooLarge
from rma.text import estimate_prompt_tokens, estimate_tokens

# The extraction reply's share of the context (its largest setting).
EXTRACT_MAX_TOKENS = C.NOTES_EXTRACT_MAX_TOKENS
SAFETY_TOKENS = 64
# Whatever the model's context, notes longer than this are not one appointment.
MAX_NOTES_CHARS = 20_000


@dataclass(frozen=True)
class NotesBudget:
    """How many tokens of notes fit in one extraction call on this deployment."""

    context: int
    notes_tokens: int

    @property
    def approx_chars(self) -> int:
        # Typical case notes run about 2.6 characters a token; say so in round figures.
        return int(self.notes_tokens * 2.5) // 100 * 100


def notes_budget(context_window: int, system: str, user_frame: str) -> NotesBudget:
    """What is left of ``context_window`` for the notes, after the system message, the
    user message's own text around the notes (``user_frame``) and the reply."""
    fixed = estimate_prompt_tokens([system, user_frame]) + SAFETY_TOKENS + EXTRACT_MAX_TOKENS
    return NotesBudget(context_window, max(0, context_window - fixed))


def check_size(notes: str, context_window: int, system: str, user_frame: str) -> NotesBudget:
    """Raise :class:`InputTooLarge` (413) naming the limit if the notes do not fit."""
    budget = notes_budget(context_window, system, user_frame)
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
