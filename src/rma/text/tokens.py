"""One token estimate for budgeting a model's context when its own tokenizer is not at hand.

Biased high on purpose: a prompt budgeted with it fits. Letters count a token per three
(at least one a word), every digit and symbol one, and so does a line break or a space
before a digit or symbol (BPE tokenizers give those their own token). Measured against
the bundled tokenizers on the sample manuals, case notes and creditor letters
(``tests/test_text.py`` checks it is never below them): on average 1.3 to 1.6 times
SmolLM2's count (at least 1.0 on the shortest shorthand lines) and 1.6 to 1.9 times
MiniLM's (its two special tokens not counted). Larger vocabularies count fewer tokens,
so it is higher still for them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable

#: Anything that counts tokens: a tokenizer's own counter, or :func:`estimate_tokens`.
TokenCounter = Callable[[str], int]

#: What a chat template adds around each message (role markers and separators).
MESSAGE_OVERHEAD_TOKENS = 16

_PIECE = re.compile(r"[A-Za-z]+|\d|[^\sA-Za-z\d]|\s*\n\s*|\s+(?=[^\sA-Za-z])")
LETTERS_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """A deliberately high token count for ``text`` (see the module's measurements)."""
    count = 0
    for piece in _PIECE.findall(text):
        count += max(1, math.ceil(len(piece) / LETTERS_PER_TOKEN)) if piece[0].isalpha() else 1
    return count


def estimate_prompt_tokens(messages: Iterable[str]) -> int:
    """The estimate for a chat prompt: each message's text and its template markers."""
    return sum(estimate_tokens(text) + MESSAGE_OVERHEAD_TOKENS for text in messages)
