"""Letter composition from checked content, request validation, the Word copy and the
reading of model output, all without a model."""

from __future__ import annotations

import io
import random
import string
from datetime import date
from typing import Any

import docx
import pytest
from pydantic import ValidationError

from rma.config import Settings
from rma.errors import InputTooLarge
from rma.llm.factory import build_router
from rma.llm.jsonreply import read_reply
from rma.llm.types import ChatResult, Provenance, Structured
from rma.notes.checks import check_letter
from rma.notes.content import apply_rewording, checked_content
from rma.notes.convert import Prepared, cut_short_warnings, finish, prepare
from rma.notes.docx import letter_docx
from rma.notes.letter import compose, plain_sentence
from rma.notes.schema import ConvertRequest, NotesExtraction
from tests.notes.conftest import sample
from tests.support.servers import free_port

TODAY = date(2025, 3, 6)
# The chat context of the bundled model (and vLLM's default): what prepare() sizes for.
WINDOW = 2048


def _settings(**env: object) -> Settings:
    return Settings(LLM_PROVIDER="vllm", **env)  # type: ignore[call-arg]


def _request(notes: str, **fields: object) -> ConvertRequest:
    return ConvertRequest(notes=notes, client_name="Jo Bloggs", **fields)  # type: ignore[arg-type]


def _checked(extraction: NotesExtraction, prepared: Prepared) -> tuple[Any, Any]:
    return checked_content(extraction, prepared.facts, prepared.request, prepared.letter_date)


def _extraction(**fields: object) -> NotesExtraction:
    base: dict[str, object] = {
        "matters_discussed": [],
        "our_actions": [],
        "your_actions": [],
        "debts": [],
    }
    return NotesExtraction.model_validate(base | fields)


def test_checked_content_keeps_only_what_the_notes_support() -> None:
    prepared = prepare(_request(sample("01"), adviser_name="Sam Patel"), WINDOW, TODAY)
    extraction = _extraction(
        matters_discussed=[
            "You owe £4.23k to Lowell for an old Vanquis card.",
            "You also owe £9,999 to your brother.",  # invented amount
            "Tour de France.",  # drift
        ],
        our_actions=[{"action": "Request breathing space for you", "due": None}],
        your_actions=[{"action": "Send us your SFS", "due": "12/3"}],
        debts=[
            {"creditor": "Lowell", "amount": "£4,230"},
            {"creditor": "Cabot", "amount": "£100"},  # not in the notes
        ],
    )
    content, warnings = _checked(extraction, prepared)
    assert content.matters == ["You owe £4,230 to Lowell for an old Vanquis card."]
    assert content.your_actions[0].due == date(2025, 3, 12)
    assert content.your_actions[0].action == "Send us your Standard Financial Statement."
    assert [(d.creditor, d.amount) for d in content.debts] == [("Lowell", "4230.00")]
    messages = " | ".join(w.message for w in warnings)
    assert "£9,999" in messages and "Tour de France" in messages and "Cabot" in messages
    assert "Vanquis" not in messages  # the lender the Lowell debt came from, not a debt
    assert content.debts[0].original_creditor == "Vanquis"

    letter = compose(content)
    assert "Send us your Standard Financial Statement by 12 March 2025." in letter.text
    assert "- Lowell (the debt was with Vanquis): £4,230, credit card." in letter.text
    assert "Request breathing space for you." in letter.text  # the model's words
    assert "Dear Jo Bloggs," in letter.text and "Sam Patel" in letter.text
    # The composed letter passes every check on the notes it came from.
    assert (
        check_letter(
            letter.text,
            prepared.facts,
            creditors=["Lowell"],
            allowed_dates={TODAY, prepared.facts.appointment},
            reading_age_target=11,
            readable_text=letter.body,
        )
        == []
    )


def test_priority_debts_and_actions_the_model_missed() -> None:
    prepared = prepare(_request(sample("02")), WINDOW, TODAY)
    extraction = _extraction(debts=[{"creditor": "Leeds City Council", "amount": "£1,250.50"}])
    content, warnings = _checked(extraction, prepared)
    assert content.debts[0].priority == "council tax arrears"
    text = compose(content).text
    assert "Leeds City Council: £1,250.50, council tax arrears. This is a priority debt." in text
    assert "Some of these are priority debts." in text
    # The reply had no actions; the notes do: they are written from the notes' words.
    assert "- We will call Marston to ask for 14 days hold by 14 January 2025." in text
    assert "- Apply for council tax reduction online by 21 January 2025." in text
    assert [w.code for w in warnings].count("action_from_notes") == 3
    assert "nothing" not in text.lower() and "do not need to do anything" not in text


def test_an_empty_section_says_so() -> None:
    prepared = prepare(_request(sample("06")), WINDOW, TODAY)
    content, warnings = _checked(_extraction(), prepared)
    assert "no_matters" in [w.code for w in warnings]
    text = compose(content).text
    assert "We do not have anything more to do for you at the moment." in text  # "none"
    # "Cl to call back if wants full advice appt" is an open offer, not an agreed action.
    assert "You do not need to do anything at the moment." in text
    assert "We did not note any other topics." in text


def test_a_deadline_not_in_the_notes_is_left_out() -> None:
    prepared = prepare(_request(sample("01")), WINDOW, TODAY)
    extraction = _extraction(your_actions=[{"action": "Send us your SFS", "due": "19/3"}])
    content, warnings = _checked(extraction, prepared)
    assert any("'19/3'" in w.message for w in warnings)
    # The action is the notes' "agreed to send SFS by 12/3": the notes' deadline is used.
    assert content.your_actions[0].due == date(2025, 3, 12)


def test_owner_and_deadline_come_from_the_notes() -> None:
    prepared = prepare(_request(sample("01")), WINDOW, TODAY)
    extraction = _extraction(
        our_actions=[
            {"action": "Send Standard Financial Statement", "due": None},  # the client's
            {"action": "Request breathing space", "due": "12/3"},  # SFS's deadline
        ],
        your_actions=[{"action": "Request breathing space", "due": "12/3"}],  # ours
    )
    content, warnings = _checked(extraction, prepared)
    assert [(a.action, a.due) for a in content.our_actions] == [("Request breathing space.", None)]
    assert [(a.action, a.due) for a in content.your_actions] == [
        ("Send Standard Financial Statement.", date(2025, 3, 12))
    ]
    codes = [w.code for w in warnings]
    assert "action_moved" in codes and "deadline_from_notes" in codes


def test_plain_sentence_writes_figures_and_drops_markup() -> None:
    ref = date(2025, 3, 5)
    assert plain_sentence("call\x0bus\u200b\x07 now", ref) == "Call us now."
    assert plain_sentence("- cl owes <b>£4.2k</b> re CT, pay by 12/3", ref) == (
        "You owe £4,200 about council tax, pay by 12 March 2025."
    )


@pytest.mark.parametrize(
    "name",
    ["<script>alert(1)</script>", "Jo {{name}}", "Jo [link](http://x)", "Jo\x07", "**Jo**", ""],
)
def test_names_with_markup_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError):
        ConvertRequest(notes="cl owes £40", client_name=name)


def test_real_names_are_accepted() -> None:
    for name in ("Siobhán O'Neill", "Mr J. Smith-Jones", "Zoë & Ade Okafor"):
        assert ConvertRequest(notes="x", client_name=name).client_name == name


def test_empty_notes_are_rejected() -> None:
    with pytest.raises(ValidationError, match="notes are empty"):
        ConvertRequest(notes=" \n\t", client_name="Jo")


def test_the_budget_follows_the_model_context() -> None:
    long_notes = "cl owes £4,230 to Lowell re old Vanquis card. " * 60
    with pytest.raises(InputTooLarge, match="model context of 2048 tokens") as err:
        prepare(_request(long_notes), WINDOW, TODAY)
    assert "limit is" in str(err.value)
    assert prepare(_request(long_notes), 8192, TODAY).facts.amounts


def _result(text: str, finish: str = "stop") -> ChatResult:
    return ChatResult(text, finish, Provenance(role="chat", provider="vllm", model="m"))


def test_output_cut_short_is_read_and_flagged() -> None:
    text = (
        '{"matters_discussed": ["Debts with Lowell"], "our_actions": [{"action": '
        '"Ask for breathing space", "due": null}, {"action": "Half a sen'
    )
    reading = read_reply(text, NotesExtraction)
    extracted = Structured(
        reading.value, _result(text, "length"), 1, reading.cut_short, reading.never_reached
    )
    assert extracted.value.our_actions[0].action == "Ask for breathing space"
    assert len(extracted.value.our_actions) == 1  # the half-written one is dropped
    assert extracted.value.your_actions == [] and extracted.value.debts == []
    warnings = cut_short_warnings(extracted)
    assert [w.code for w in warnings] == ["output_cut_short"]
    assert "your_actions, debts were never reached" in warnings[0].message
    whole = read_reply(extracted.value.model_dump_json(), NotesExtraction)
    assert cut_short_warnings(Structured(whole.value, _result("{}"))) == []


def test_word_copy_has_the_letter_and_the_warnings_outside_it() -> None:
    prepared = prepare(_request(sample("01"), organisation="Riverside Money Advice"), WINDOW, TODAY)
    content, warnings = _checked(
        _extraction(our_actions=[{"action": "Request breathing space", "due": None}]), prepared
    )
    letter = compose(content)
    body = letter_docx(letter, warnings)
    document = docx.Document(io.BytesIO(body))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Dear Jo Bloggs," in text
    assert "Request breathing space." in text
    assert "What you need to do" in text
    assert "Riverside Money Advice" in text
    comments = [c.text for c in document.comments]
    # The debts are read by code (Lowell, once Vanquis), the client's action came from
    # the notes, and no matters are listed: two findings, two comments.
    assert len(comments) == len(warnings) == 2
    assert all(c.startswith("Check before sending: ") for c in comments)
    assert sum("the notes' own words" in c for c in comments) == 1
    assert "Check before sending" not in text


def test_whatever_the_model_writes_the_letter_invents_nothing() -> None:
    """Seeded random replies (junk text, huge numbers, odd dates, markup): the composed
    letter never names an amount, date or creditor that is not in the notes."""
    rng = random.Random(4)
    alphabet = string.ascii_letters + string.digits + " £.,/:-k\n'\"<>{}()[]&"
    creditors = ["Cabot", "Lowell", "Moorcroft", "HSBC", "PRA Group", "Leeds City Council"]

    def junk(limit: int) -> str:
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 100)))
        if rng.random() < 0.3:
            text += " " + "9" * rng.randint(1, 40)
        if rng.random() < 0.3:
            text += f" by {rng.randint(0, 40)}/{rng.randint(0, 14)}"
        if rng.random() < 0.3:
            text += f" £{rng.randint(0, 10 ** rng.randint(1, 8))}.{rng.randint(0, 99)}k"
        if rng.random() < 0.3:
            text += " " + rng.choice(creditors)
        return text[:limit]

    prepared = prepare(_request(sample("08")), WINDOW, TODAY)
    allowed = {TODAY, prepared.facts.appointment}
    for _ in range(300):
        extraction = NotesExtraction.model_validate(
            {
                "matters_discussed": [junk(150) for _ in range(rng.randint(0, 5))],
                "our_actions": [
                    {"action": junk(150), "due": junk(30) or None} for _ in range(rng.randint(0, 5))
                ],
                "your_actions": [
                    {"action": junk(150), "due": None} for _ in range(rng.randint(0, 5))
                ],
                "debts": [
                    {"creditor": junk(60) or "x", "amount": junk(20) or None}
                    for _ in range(rng.randint(0, 6))
                ],
            }
        )
        content, _ = _checked(extraction, prepared)
        letter = compose(content)
        found = check_letter(
            letter.text,
            prepared.facts,
            creditors=[d.creditor for d in content.debts],
            allowed_dates=allowed,
        )
        assert not [f for f in found if f.code.startswith("invented")], letter.text


def test_a_rewording_keeps_dates_that_are_not_deadlines() -> None:
    prepared = prepare(_request(sample("04")), WINDOW, TODAY)
    content, _ = _checked(_extraction(), prepared)
    hearing = next(a for a in content.your_actions if "hearing" in a.action)
    assert hearing.action == "Attend hearing on 3 September 2025." and hearing.due is None
    new = {
        "matters_discussed": [],
        "our_actions": [a.action for a in content.our_actions],
        "your_actions": [
            "Attend the hearing on 3/9." if a is hearing else a.action for a in content.your_actions
        ],
    }
    reworded, _ = apply_rewording(content, new, prepared.facts)
    assert "Attend the hearing on 3 September 2025." in [a.action for a in reworded.your_actions]
    # Simpler words that drop a word of the notes' action are not used.
    new["your_actions"] = [
        "Go to court on 3/9." if a is hearing else a.action for a in content.your_actions
    ]
    reworded, _ = apply_rewording(content, new, prepared.facts)
    assert hearing.action in [a.action for a in reworded.your_actions]


async def test_a_backend_failure_while_rewording_keeps_the_checked_letter() -> None:
    """Extraction done, then every backend is down for the rewording: the checked
    letter is returned, and says it could not be simplified."""
    settings = _settings(
        VLLM_URL=f"http://127.0.0.1:{free_port()}/v1",
        LLM_RETRY_ATTEMPTS=1,
        NOTES_READING_AGE_TARGET=5,
    )
    router = build_router(settings)
    try:
        prepared = prepare(_request(sample("01")), router.context_window(), TODAY)
        extraction = _extraction(
            our_actions=[{"action": "Request breathing space for you", "due": None}]
        )
        extracted = Structured(extraction, _result(extraction.model_dump_json()))
        conversion = await finish(router, prepared, extracted, settings)
    finally:
        await router.aclose()
    codes = [w.code for w in conversion.warnings]
    assert "reword_failed" in codes and "reading_age_above_target" in codes
    assert "no backend could serve" in next(
        w.message for w in conversion.warnings if w.code == "reword_failed"
    )
    assert "Request breathing space for you." in conversion.letter.text
    assert [step for step, _ in conversion.results] == ["extract"]
