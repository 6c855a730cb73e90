"""Reading JSON replies that small models fence, cut short or run on."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from rma.llm.jsonreply import close_json, json_object_text, read_reply


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"a": 1}', '{"a": 1}'),
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('Here you are: {"a": [1, 2', '{"a": [1, 2]}'),
        ('{"a": "complete", "b": "half a sent', '{"a": "complete"}'),
        ('{"a": 1, "b":', '{"a": 1}'),
    ],
)
def test_the_object_is_found_and_closed(reply: str, expected: str) -> None:
    assert json_object_text(reply) == expected


def test_prose_has_no_object() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        json_object_text("I cannot do that.")


def test_close_json() -> None:
    assert close_json('{"a": ["x", "y"\n   ') == '{"a": ["x", "y"]}'
    assert close_json('{"a": [{"b": "1", "c": ') == '{"a": [{"b": "1"}]}'
    assert close_json('{"a": []}') == '{"a": []}'


class Item(BaseModel):
    text: str
    due: str | None
    note: str = ""


class Reply(BaseModel):
    title: str
    items: list[Item]
    tags: list[str]


def test_a_whole_reply_is_read_as_it_is() -> None:
    reading = read_reply('```json\n{"title": "t", "items": [], "tags": ["a"]}\n```', Reply)
    assert reading.value == Reply(title="t", items=[], tags=["a"])
    assert not reading.cut_short and reading.never_reached == []


def test_a_reply_cut_short_keeps_what_is_whole() -> None:
    reading = read_reply(
        '{"title": "t", "items": [{"text": "one", "due": "9/12"}, {"text": "two"}, {"due": "x',
        Reply,
    )
    assert reading.cut_short and reading.never_reached == ["tags"]
    # the second item never reached its optional parts; the third never had its text
    assert reading.value.items == [Item(text="one", due="9/12"), Item(text="two", due=None)]
    assert reading.value.tags == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("I cannot help with that.", ValueError),
        ('{"title": "t", "items": "not a list", "tags": []}', ValidationError),
        ('{"items": [], "tags": []}', ValidationError),  # whole, but the title is missing
        ('{"title": "t", "items": [], "tags": []} and some prose', ValueError),
    ],
)
def test_unreadable_replies_are_errors(reply: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_reply(reply, Reply)
