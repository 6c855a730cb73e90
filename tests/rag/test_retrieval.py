"""Retrieval quality on the sample manuals: recall@5 over questions with known answers."""

from __future__ import annotations

from pathlib import Path

from rma.config import load_settings
from rma.llm.router import ProviderRouter
from rma.rag.retrieval import HybridRetriever
from tests.rag.conftest import copy_manuals, open_library

# question -> (document, a heading on the answering section's path)
RETRIEVAL_SET = [
    (
        "What is the maximum total debt for a Debt Relief Order?",
        "debt-relief-orders.md",
        "Debt limit",
    ),
    (
        "How much surplus income can a client have and still get a DRO?",
        "debt-relief-orders.md",
        "Surplus income limit",
    ),
    ("What is the assets limit for a DRO?", "debt-relief-orders.md", "Assets limit"),
    ("Is a car counted as an asset in a DRO?", "debt-relief-orders.md", "Motor vehicle"),
    (
        "Which debts cannot be included in a debt relief order?",
        "debt-relief-orders.md",
        "Debts that do not qualify",
    ),
    ("Is there a fee to apply for a DRO?", "debt-relief-orders.md", "Application fee"),
    (
        "Who submits a DRO application to the Official Receiver?",
        "debt-relief-orders.md",
        "How to apply",
    ),
    (
        "Can a client get a DRO if they had one five years ago?",
        "debt-relief-orders.md",
        "Other conditions",
    ),
    (
        "How much does it cost to apply for your own bankruptcy?",
        "bankruptcy.pdf",
        "Applying for your own bankruptcy",
    ),
    (
        "What is the minimum debt for a creditor to make someone bankrupt?",
        "bankruptcy.pdf",
        "Creditor's petition",
    ),
    ("When is a bankrupt person discharged?", "bankruptcy.pdf", "Discharge"),
    ("How long can an income payments agreement last?", "bankruptcy.pdf", "Income payments"),
    (
        "How long does a standard breathing space last?",
        "breathing-space.pdf",
        "Standard breathing space",
    ),
    (
        "What happens to interest and charges during a breathing space?",
        "breathing-space.pdf",
        "What a breathing space does",
    ),
    (
        "How long does a mental health crisis breathing space last?",
        "breathing-space.pdf",
        "Mental health crisis breathing space",
    ),
    (
        "What percentage of creditors must agree to an IVA?",
        "individual-voluntary-arrangements.md",
        "Creditor approval",
    ),
    (
        "How many years does an IVA usually last?",
        "individual-voluntary-arrangements.md",
        "How long an IVA lasts",
    ),
    (
        "Who supervises an individual voluntary arrangement?",
        "individual-voluntary-arrangements.md",
        "Who sets up an IVA",
    ),
    ("Is council tax a priority debt?", "priority-debts.md", "Which debts are priority debts"),
    ("Are credit card debts priority debts?", "priority-debts.md", "Non-priority debts"),
    (
        "Which debts should an adviser deal with first?",
        "priority-debts.md",
        "Dealing with priority debts first",
    ),
    (
        "What informal options are there instead of insolvency?",
        "adviser-overview.md",
        "Informal options",
    ),
]
OFF_TOPIC = [
    "What is the boiling point of water on Mars?",
    "Recommend a good pasta recipe for dinner.",
    "How do I make a complaint about a bailiff?",
]


async def test_recall_at_5_is_at_least_0_9(clean_env: Path, router: ProviderRouter) -> None:
    library = await open_library(load_settings(), router, "rma_manuals")
    await library.ingest_folder(copy_manuals(clean_env / "manuals"))
    retriever = HybridRetriever(library.store, library.keywords, router)
    found = 0
    misses = []
    for question, document, heading in RETRIEVAL_SET:
        retrieval = await retriever.retrieve(question, 5)
        assert retrieval.relevant, question
        if any(
            h.chunk.document == document and heading in h.chunk.heading_path for h in retrieval.hits
        ):
            found += 1
        else:
            misses.append(question)
    recall = found / len(RETRIEVAL_SET)
    assert recall >= 0.9, f"recall@5 {recall:.2f}; missed {misses}"
    for question in OFF_TOPIC:
        assert not (await retriever.retrieve(question, 5)).relevant, question
