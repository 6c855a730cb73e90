"""Reading JSON replies that small models fence, cut short or run on."""

from __future__ import annotations

import pytest

from rma.llm.jsonreply import json_object_text


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
