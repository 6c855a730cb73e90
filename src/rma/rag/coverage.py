"""Does a question ask about something the manuals never mention?

Vector similarity alone cannot tell "how much is a sequestration application fee" (Scots
law, not in the manuals) from "how much is a bankruptcy application fee": both land near
the bankruptcy chapter. A question is off the manuals' map when it names a thing no
ingested passage names at all:

- an abbreviation ("DPP") that no passage uses and the vocabulary does not know;
- a capitalised name of two or more words ("Northern Ireland", "Help to Save") that no
  passage holds as a phrase;
- an English word (in the system word list, so typos and shorthand do not count) whose
  stem no passage holds ("prepay" is there if "prepayment" is), other than the words
  questions are made of ("whats", "much"). Advisers paraphrase ("scrapped" for
  "removed"), so this rule is only for questions whose best passage is a middling match
  (the retriever decides); a strong match outweighs one unmatched word.

Each of these is a fact about the library, read from the keyword index; the answer then
says the manuals do not cover the question, naming the terms, instead of answering from
the nearest passage about something else.
"""

from __future__ import annotations

import re

from rma.rag.bm25 import STOPWORDS, KeywordIndex, tokenize
from rma.rag.printout import system_lexicon
from rma.rag.vocabulary import terms_in

_ABBREVIATION = re.compile(r"\b([A-Z][A-Z0-9]{1,5})(?:s|'s)?\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:to|of|and|the|for|in)?\s*[A-Z][a-z]+)+\b")
_WORD = re.compile(r"\b[a-z]{4,}\b")
# Words questions are made of, which a manual need not contain.
QUESTION_WORDS = frozenset(
    [
        "whats",
        "what's",
        "hows",
        "cant",
        "can't",
        "dont",
        "don't",
        "wont",
        "won't",
        "isnt",
        "doesnt",
        "didnt",
        "shouldnt",
        "wouldnt",
        "couldnt",
        "theyre",
        "youre",
        "thats",
        "theres",
        "heres",
        "need",
        "needs",
        "want",
        "wants",
        "know",
        "tell",
        "mean",
        "means",
        "much",
        "many",
        "long",
        "still",
        "ever",
        "else",
        "also",
        "just",
        "really",
        "sure",
        "someone",
        "somebody",
        "anyone",
        "anything",
        "something",
        "thing",
        "things",
        "stuff",
        "okay",
        "please",
        "thanks",
        "help",
        "helps",
        "this",
        "year",
        "today",
        "currently",
        "right",
    ]
)


def unknown_terms(question: str, keywords: KeywordIndex, *, words: bool = True) -> list[str]:
    """The terms of ``question`` that no ingested passage holds (see the module doc);
    English words only with ``words`` (a caller with a strong match leaves them out)."""
    unknown: list[str] = []
    for match in _ABBREVIATION.finditer(question):
        abbreviation = match.group(1)
        if abbreviation.isdigit() or terms_in(abbreviation):
            continue
        if not keywords.occurrences(tokenize(abbreviation)[:1]):
            unknown.append(abbreviation)
    for match in _NAME.finditer(question):
        if match.start() == 0 and " " not in match.group():
            continue
        tokens = [t for t in tokenize(match.group()) if not t.startswith("x")]
        if len(tokens) >= 2 and not keywords.occurrences(tokens):
            unknown.append(match.group())
    lexicon = system_lexicon()
    if words and lexicon.words:
        for word in _WORD.findall(question.lower()):
            if word in STOPWORDS or word in QUESTION_WORDS or not lexicon.knows(word):
                continue
            if terms_in(word):
                continue
            # the indexed form's stem as a prefix: "threatening" is there if "threaten" is
            token = next(iter(tokenize(word)), word)
            stem = token[: max(4, len(token) - 3)]
            if not keywords.occurrences([stem], prefix=True):
                unknown.append(word)
    return list(dict.fromkeys(unknown))
