"""Tool calls: finding the function calls a chat model wrote in its answer, in OpenAI's `tool_calls` shape.

Chat templates that define tools (they read a `tools` variable) tell the model to answer a call as JSON
{"name": ..., "arguments": {...}}, either inside <tool_call>...</tool_call> tags (Hermes, Qwen 2.5, SmolLM3) or as
the whole answer (Llama 3.1, which says "parameters"). parse_tool_calls finds either form; text that is not a call
stays the message's content.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


@dataclass
class ToolCall:
    name: str
    arguments: str  # JSON text, as OpenAI sends it
    id: str = ""

    def as_openai(self, index: int | None = None) -> dict:
        out = {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}
        return out if index is None else {"index": index, **out}


def template_defines_tools(template: str | None) -> bool:
    """Whether a chat template renders a `tools` list (so the model was taught a call format)."""
    return bool(template) and re.search(r"\btools\b", template or "") is not None


def _call(text: str) -> ToolCall | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):  # some models write the arguments already as JSON text
        return ToolCall(value["name"], arguments, "call_" + uuid.uuid4().hex[:24])
    return ToolCall(value["name"], json.dumps(arguments), "call_" + uuid.uuid4().hex[:24])


def parse_tool_calls(text: str) -> tuple[str | None, list[ToolCall]]:
    """(the content left, the calls) of a model's answer; no calls: the text unchanged."""
    tagged = [(m, _call(m.group(1))) for m in _TAGGED.finditer(text)]
    calls = [c for _, c in tagged if c is not None]
    if calls:
        content = _TAGGED.sub("", text).strip()
        return content or None, calls
    whole = _call(text.strip())
    return (None, [whole]) if whole is not None else (text, [])
