"""Chat templates: turn a list of {role, content} messages into the prompt text a chat model was trained on.

A GGUF file carries its template as Jinja source (tokenizer.chat_template). With jinja2 installed (optional) the
template itself is rendered in a sandbox, as Hugging Face does. Without it, ChatML templates (SmolLM2, Qwen, ...)
are rendered by a built-in renderer that reproduces the template's output, including the default system prompt
that some templates insert when the conversation has none.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Sequence

from baregrad.errors import ArgumentError

IM_START, IM_END = "<|im_start|>", "<|im_end|>"

# SmolLM2's template says: if the first message is not a system message, insert this one first.
_DEFAULT_SYSTEM_RE = re.compile(
    r"""messages\[0\]\[['"]role['"]\]\s*!=\s*['"]system['"].*?"""
    + re.escape(IM_START) + r"system(?:\\n|\n)(.*?)" + re.escape(IM_END), re.DOTALL)


def jinja_available() -> bool:
    """True when the optional jinja2 package can be imported."""
    return importlib.util.find_spec("jinja2") is not None


def check_messages(messages: Sequence[dict]) -> list[dict]:
    """Validate messages: a non-empty list of dicts with string 'role' and 'content'."""
    if not isinstance(messages, (list, tuple)) or not messages:
        raise ArgumentError("messages must be a non-empty list of {role, content} objects")
    for k, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise ArgumentError(f"messages[{k}] must be an object with a string 'role'")
        if not isinstance(message.get("content"), str):
            raise ArgumentError(f"messages[{k}].content must be a string")
    return [dict(m) for m in messages]


def render_chat(template: str | None, messages: Sequence[dict], add_generation_prompt: bool = True,
                bos_token: str = "", eos_token: str = "", use_jinja: bool | None = None,
                tools: list[dict] | None = None) -> str:
    """Render `template` (Jinja source, or None for plain ChatML) for `messages`.

    use_jinja: None picks jinja2 when installed; False forces the built-in ChatML renderer. tools: function
    definitions (OpenAI's shape) for a template that defines tools; only the Jinja path renders them.
    """
    messages = check_messages(messages)
    if template and (use_jinja or (use_jinja is None and jinja_available())):
        return render_jinja(template, messages, add_generation_prompt, bos_token, eos_token, tools)
    if tools:
        raise ArgumentError("rendering tools needs the chat template itself: install jinja2 (pip install jinja2)")
    if template and IM_START not in template:
        raise ArgumentError("this chat template is not ChatML: install jinja2 to render it (pip install jinja2)")
    return render_chatml(messages, add_generation_prompt, default_system_prompt(template))


def default_system_prompt(template: str | None) -> str | None:
    """The system prompt a ChatML template inserts when the conversation has none, or None."""
    match = _DEFAULT_SYSTEM_RE.search(template or "")
    return match.group(1).replace("\\n", "\n") if match else None


def render_chatml(messages: Sequence[dict], add_generation_prompt: bool = True,
                  default_system: str | None = None) -> str:
    """<|im_start|>role\\ncontent<|im_end|>\\n for each message, then <|im_start|>assistant\\n."""
    parts = []
    if default_system is not None and messages and messages[0]["role"] != "system":
        parts.append(f"{IM_START}system\n{default_system}{IM_END}\n")
    parts += [f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages]
    if add_generation_prompt:
        parts.append(f"{IM_START}assistant\n")
    return "".join(parts)


def render_jinja(template: str, messages: Sequence[dict], add_generation_prompt: bool = True,
                 bos_token: str = "", eos_token: str = "", tools: list[dict] | None = None) -> str:
    """Render with jinja2 in a sandbox, with the options and helpers Hugging Face's apply_chat_template uses."""
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ArgumentError(f"chat template: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = raise_exception
    try:
        compiled = env.from_string(template)
        return compiled.render(messages=list(messages), add_generation_prompt=add_generation_prompt,
                               bos_token=bos_token, eos_token=eos_token, **({"tools": tools} if tools else {}))
    except TemplateError as exc:
        raise ArgumentError(f"chat template failed to render: {exc}") from exc
