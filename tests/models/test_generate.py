"""generate(): streaming, UTF-8 boundaries, stop conditions, KV-cache reuse and stats, on a fake model."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from fake_llm import FakeModel  # noqa: E402

from baregrad.errors import ArgumentError  # noqa: E402
from baregrad.models.generate import FinishReason, LanguageModel, complete, forget_cache, generate  # noqa: E402
from baregrad.models.sampling import SamplingParams  # noqa: E402


def chat_ids(model, *turns):
    roles = ["user", "assistant"]
    messages = [{"role": roles[k % 2], "content": text} for k, text in enumerate(turns)]
    return model.tokenizer.encode(model.tokenizer.apply_chat_template(messages))


def test_fake_model_follows_the_protocol():
    assert isinstance(FakeModel(), LanguageModel)


def test_greedy_answer_and_finish_on_eos():
    model = FakeModel({"France": "Paris is the capital of France."})
    events = list(generate(model, chat_ids(model, "What is the capital of France?"), SamplingParams()))
    assert "".join(e.text for e in events) == "Paris is the capital of France."
    assert [e.finished for e in events] == [False] * (len(events) - 1) + [True]
    last = events[-1]
    assert last.finish_reason is FinishReason.STOP and last.token_id is None
    assert last.stats.generated_tokens == len("Paris is the capital of France.") == len(events) - 1
    assert last.stats.prompt_tokens > 0 and last.stats.prompt_tokens_per_second > 0
    assert last.stats.generation_tokens_per_second > 0


def test_multibyte_characters_are_never_split():
    answer = "héllo wörld 世界 🤖!"
    model = FakeModel(default=answer)
    events = list(generate(model, model.tokenizer.encode("Q:"), SamplingParams()))
    texts = [e.text for e in events]
    assert "".join(texts) == answer
    assert "\ufffd" not in "".join(texts)
    assert len([e for e in events if e.token_id is not None]) == len(answer.encode())  # one event per byte token
    assert "🤖" in texts and "" in texts  # the emoji comes whole, after three empty deltas


@pytest.mark.parametrize("stop, expected", [
    (["capital"], "Paris is the "),
    (["is", "Paris"], ""),
    ([" of F"], "Paris is the capital"),
    (["."], "Paris is the capital of France"),
    (["nothing like it", "France!"], "Paris is the capital of France."),
])
def test_stop_strings_end_without_being_emitted(stop, expected):
    model = FakeModel(default="Paris is the capital of France.")
    result = complete(model, model.tokenizer.encode("Q:"), SamplingParams(stop=stop))
    assert result.text == expected
    assert result.finish_reason is FinishReason.STOP


def test_held_back_text_is_released_when_no_stop_follows():
    model = FakeModel(default="abcab")
    events = list(generate(model, model.tokenizer.encode("Q:"), SamplingParams(stop=["abd"])))
    assert [e.text for e in events] == ["", "", "abc", "", "", "ab"]  # "ab" held until "c", then to the end


def test_max_tokens_and_context_limit():
    model = FakeModel(default="x" * 100)
    result = complete(model, model.tokenizer.encode("Q:"), SamplingParams(max_tokens=5))
    assert result.text == "xxxxx" and result.finish_reason is FinishReason.LENGTH
    small = FakeModel(default="x" * 100, max_context=10)
    result = complete(small, small.tokenizer.encode("Q:"), SamplingParams(max_tokens=50))
    assert result.finish_reason is FinishReason.LENGTH and len(result.token_ids) == 8


def test_bad_prompts_raise_before_streaming():
    model = FakeModel(max_context=10)
    with pytest.raises(ArgumentError):
        generate(model, [], SamplingParams())
    with pytest.raises(ArgumentError):
        generate(model, [65] * 10, SamplingParams())
    with pytest.raises(ArgumentError):
        generate(model, [65], SamplingParams(temperature=-1))


def test_kv_cache_prefix_is_reused_across_chat_turns():
    model = FakeModel({"France": "Paris.", "Italy": "Rome."})
    first = chat_ids(model, "Capital of France?")
    a = complete(model, first, SamplingParams())
    assert a.text == "Paris." and a.stats.reused_tokens == 0 and model.resets == 1
    second = chat_ids(model, "Capital of France?", "Paris.", "And Italy?")
    model.calls.clear()
    b = complete(model, second, SamplingParams())
    assert b.text == "Rome."
    prefill = model.calls[0]
    assert b.stats.reused_tokens == prefill[1] > len(first)  # the first turn and its answer were not recomputed
    assert prefill[0] == len(second) - b.stats.reused_tokens and model.resets == 1


def test_unrelated_prompt_resets_and_same_prompt_refeeds_one_token():
    model = FakeModel(default="Ok.")
    prompt = model.tokenizer.encode("Hello there")
    complete(model, prompt, SamplingParams())
    model.calls.clear()
    again = complete(model, prompt, SamplingParams())
    assert again.text == "Ok." and model.calls[0] == (1, len(prompt) - 1)
    complete(model, model.tokenizer.encode("Different"), SamplingParams())
    assert model.resets == 2
    forget_cache(model)
    model.calls.clear()
    complete(model, prompt, SamplingParams())
    assert model.calls[0] == (len(prompt), 0)


def test_abandoned_stream_leaves_a_consistent_cache():
    model = FakeModel(default="A long answer here.")
    prompt = model.tokenizer.encode("Q:")
    stream = generate(model, prompt, SamplingParams())
    for _ in range(3):
        next(stream)
    stream.close()
    result = complete(model, prompt, SamplingParams())
    assert result.text == "A long answer here."


def test_sampling_is_seeded():
    model = FakeModel(default="abc")
    params = SamplingParams(temperature=5.0, seed=11, max_tokens=20)
    runs = [complete(model, [65, 66], params).token_ids for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) >= 1


class GreedyFakeModel(FakeModel):
    """A fake model with the optional greedy(): the argmax of forward()'s logits, counted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.greedy_calls = 0

    def greedy(self, token_ids: list[int], start_pos: int) -> int:
        self.greedy_calls += 1
        logits = self.forward(token_ids, start_pos)
        return logits.index(max(logits))


def test_greedy_decoding_uses_the_models_greedy_when_it_has_one():
    answer = "Paris is the capital of France."
    model = GreedyFakeModel(default=answer)
    prompt = model.tokenizer.encode("Q:")
    assert complete(model, prompt, SamplingParams()).text == answer
    assert model.greedy_calls == len(model.calls) == len(answer) + 1  # the prompt, then each token but the last
    model = GreedyFakeModel(default=answer)
    for params in (SamplingParams(temperature=0.5, seed=0), SamplingParams(repetition_penalty=1.2)):
        complete(model, prompt, params)  # sampling and the penalty need the logits themselves
    assert model.greedy_calls == 0 and model.calls
