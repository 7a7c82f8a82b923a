"""The JSON automaton behind response_format json_object: it accepts exactly the prefixes of JSON objects (checked
against the json module on random texts), and its shortest completion of any accepted prefix parses."""
from __future__ import annotations

import json
import random

import pytest

from baregrad.models.json_grammar import JsonState, advance, closing

ALPHABET = list('{}[]":,-.0123456789eE+ tfnrulasx\\\n') + ["\u00e9"]
VALID = ['{}', '{"a": 1}', '{"a": [1, -2.5e3, true, false, null, {"b": "x\\u00e9\\n"}], "c": {}}',
         '{"k": 0.5E+7, "l": [], "m": [[]], "n": "\\"q\\""}', '{ "a" : "b" , "c" : -0 }']
INVALID = ['[1]', ' {}', '{"a" 1}', '{"a": 01}', '{"a": 1.}', '{"a": tru}', '{"a": "\\x"}', '{,}', '{"a": 1,}',
           '{"a": -}', '{"a": 1e}', '{} {}', '{"a": 0d}', '{"a": "\x01"}']


@pytest.mark.parametrize("text", VALID)
def test_valid_objects_are_accepted_and_complete(text: str) -> None:
    state = advance(JsonState(), text)
    assert state is not None and state.done and closing(state) == ""


@pytest.mark.parametrize("text", INVALID)
def test_invalid_texts_are_refused(text: str) -> None:
    state = advance(JsonState(), text)
    assert state is None or not state.done


def _is_prefix_of_an_object(text: str) -> bool:
    """Whether some continuation makes `text` a JSON object (the automaton's completion is trusted only when the
    json module accepts the completed text)."""
    state = advance(JsonState(), text)
    return state is not None and isinstance(json.loads(text + closing(state)), dict)


def test_random_texts_agree_with_the_json_module() -> None:
    """Random walks: every character the automaton accepts keeps a completable prefix (its completion parses), and
    every text it calls complete parses to the same value as json.loads."""
    rng = random.Random(0)
    for _ in range(300):
        state, text = JsonState(), ""
        for _ in range(rng.randrange(1, 40)):
            ch = rng.choice(ALPHABET)
            after = advance(state, ch)
            if after is None:
                continue
            state, text = after, text + ch
            assert _is_prefix_of_an_object(text), repr(text)
            if state.done:
                assert isinstance(json.loads(text), dict)
                break
