"""Tool calls found in model answers: tagged (Hermes / Qwen) and whole-answer JSON (Llama 3.1), or none."""
from __future__ import annotations

import json

from baregrad.models.tool_calls import parse_tool_calls, template_defines_tools


def test_tagged_calls_and_the_text_around_them() -> None:
    text = ('Let me check. <tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>\n'
            '<tool_call>{"name": "time", "arguments": {}}</tool_call>')
    content, calls = parse_tool_calls(text)
    assert content == "Let me check."
    assert [c.name for c in calls] == ["weather", "time"]
    assert json.loads(calls[0].arguments) == {"city": "Paris"} and calls[0].id != calls[1].id


def test_whole_answer_call_with_parameters() -> None:
    content, calls = parse_tool_calls(' {"name": "search", "parameters": {"q": "baregrad"}} ')
    assert content is None and json.loads(calls[0].arguments) == {"q": "baregrad"}


def test_plain_answers_and_broken_calls_stay_text() -> None:
    for text in ["Paris is the capital.", '{"answer": 42}', '<tool_call>{"name": broken</tool_call>']:
        assert parse_tool_calls(text) == (text, [])


def test_which_templates_define_tools() -> None:
    assert template_defines_tools("{% if tools %}{{ tools }}{% endif %}")
    assert not template_defines_tools("{% for message in messages %}{{ message.content }}{% endfor %}")
    assert not template_defines_tools(None)
