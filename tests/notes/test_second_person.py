"""A letter speaks to the client: dictated notes' "she"/"he" for the client become "you",
and a pronoun that may stand for someone else stays as written.

The expected sentences are written by hand; the notes are from the corpus
(corpora/notes/cases) and in its styles.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rma.notes.glossary import client_pronoun, plain_english, second_person

CASES = Path(__file__).resolve().parents[2] / "corpora" / "notes" / "cases"


@pytest.mark.parametrize(
    ("text", "pronoun", "letter"),
    [
        (
            "We will phone Marston to tell them she is vulnerable following her bereavement.",
            "she",
            "We will phone Marston to tell them you are vulnerable following your bereavement.",
        ),
        (
            "We will refer her to the bereavement support service.",
            "she",
            "We will refer you to the bereavement support service.",
        ),
        (
            "Bring us the letters that she did not have with her, also.",
            "she",
            "Bring us the letters that you did not have with you, also.",
        ),
        (
            "Not pay them ahead of the priority bills even though they phone her the most.",
            "she",
            "Not pay them ahead of the priority bills even though they phone you the most.",
        ),
        (
            "This is because he has no assets at risk, his income is all benefits so he "
            "would not have to make payments from it.",
            "he",
            "This is because you have no assets at risk, your income is all benefits so you "
            "would not have to make payments from it.",
        ),
        (
            "He also needs to call the council.",
            "he",
            "You also need to call the council.",
        ),
        ("Tell the agent she can't pay for now.", "she", "Tell the agent you can't pay for now."),
        # someone else the pronoun may stand for: unchanged
        (
            "Ask your former partner in writing for his share of the mortgage.",
            "he",
            "Ask your former partner in writing for his share of the mortgage.",
        ),
        (
            "Tell your mum she is a guarantor.",
            "she",
            "Tell your mum she is a guarantor.",
        ),
        # the other pronoun, or none known: unchanged
        ("We will send him the list.", "she", "We will send him the list."),
        ("We will send her the list.", None, "We will send her the list."),
    ],
)
def test_the_client_is_you(text: str, pronoun: str | None, letter: str) -> None:
    assert second_person(text, pronoun) == letter


@pytest.mark.parametrize(
    ("case", "pronoun"),
    [
        ("03_dictated_council_tax_bailiffs", "she"),  # "refer her", "she is vulnerable"
        ("09_dictated_bankruptcy", "he"),  # "Mr Okafor ... He now lives on"
        ("17_runon_interpreter_polish", "he"),  # "she" is his wife Anna; "gave him" is Piotr
        ("05_headed_possession_hearing", None),  # "his share": the former partner's
        ("13_runon_joint_couple", None),  # a couple: nothing to go on
    ],
)
def test_which_pronoun_is_the_client_s_is_read_from_the_notes(
    case: str, pronoun: str | None
) -> None:
    notes = (CASES / f"{case}.txt").read_text(encoding="utf-8")
    name = json.loads((CASES / f"{case}.key.json").read_text(encoding="utf-8"))["client_name"]
    assert client_pronoun(notes, name) == pronoun


@pytest.mark.parametrize(
    ("notes", "letter"),
    [
        ("Likely Loans will chase mum if cl stops", "Likely Loans will chase mum if you stop"),
        ("warning only, cl decides", "warning only, you decide"),
        ("client is worried", "you are worried"),
        ("cl also needs to call EDF", "you also need to call EDF"),
        ("cl's mum", "your mum"),
    ],
)
def test_a_verb_agrees_with_the_client_written_as_you(notes: str, letter: str) -> None:
    assert plain_english(notes) == letter


async def test_a_letter_from_dictated_notes_speaks_to_the_client(tmp_path: Path) -> None:
    from rma.config import load_settings
    from rma.notes.convert import code_built
    from rma.notes.schema import ConvertRequest

    notes = (CASES / "03_dictated_council_tax_bailiffs.txt").read_text(encoding="utf-8")
    request = ConvertRequest(notes=notes, client_name="Amrit Kaur")
    settings = load_settings(RMA_DATA_DIR=str(tmp_path))
    letter = (await code_built(request, settings)).letter.text
    assert "We will refer you to the bereavement support service." in letter
    assert "tell them you are vulnerable following your bereavement" in letter
    assert "that you did not have with you" in letter
    assert not {"she", "her"} & set(letter.lower().replace(".", " ").split())
