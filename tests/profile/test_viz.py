"""The viz page in a real browser: headless Chromium opens it for a small model's training step; the kernels are
listed, clicking one shows its generated source, the graph and timeline are drawn, and no script error occurs."""
from __future__ import annotations

import json

import pytest

import baregrad as bg
from baregrad.errors import FormatError
from baregrad.profile.viz import server
from tests.profile.cdp import Browser, find_chromium
from tests.profile.conftest import train_step

READY = "!!document.body && document.body.dataset.ready === '1'"


@pytest.fixture(scope="module")
def profiled(prof_device: str):
    with bg.profile() as prof:
        train_step(prof_device, seed=1)
    return prof


def test_page_in_chromium(profiled, tmp_path) -> None:
    exe = find_chromium()
    if exe is None:
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")
    data = profiled.viz_data()
    kernels = [k for s in data["schedules"] for k in s["kernels"]]
    assert kernels and all(k["source"] for k in kernels)
    browser = Browser(exe, str(tmp_path / "chromium-profile"))  # before the server's thread: Popen forks
    srv = server.start(data)
    try:
        browser.open(f"http://127.0.0.1:{srv.server_address[1]}/", READY)
        listed = browser.evaluate("[...document.querySelectorAll('li.kernel .name')].map(e => e.textContent)")
        assert listed == [k["name"] for k in kernels]
        assert browser.evaluate("document.getElementById('source').textContent") == ""
        # click the last kernel of the last schedule: its source and program appear, and it is highlighted
        last = data["schedules"][-1]
        index = len(last["kernels"]) - 1
        browser.evaluate(f"document.querySelector('li.kernel[data-sid=\"{last['sid']}\"][data-k=\"{index}\"]')"
                         ".click()")
        assert browser.evaluate("document.getElementById('source').textContent") == last["kernels"][index]["source"]
        assert browser.evaluate("document.getElementById('program').textContent") == \
            last["kernels"][index]["program"]
        assert last["kernels"][index]["name"] in browser.evaluate("document.getElementById('kernel-info').textContent")
        assert browser.evaluate("document.querySelectorAll('#viewport .node').length") > 0
        launches = sum(1 for e in data["events"] if e["cat"] == "kernel" and e["track"] != "host")
        assert browser.evaluate("document.querySelectorAll('#timeline rect.ev').length") >= launches
        # search narrows the list to matching kernels
        name = kernels[0]["name"]
        browser.evaluate(f"const s = document.getElementById('search'); s.value = {json.dumps(name)}; "
                         "s.dispatchEvent(new Event('input'))")
        shown = browser.evaluate("[...document.querySelectorAll('li.kernel')].filter(e => e.style.display !== "
                                 "'none').map(e => e.querySelector('.name').textContent)")
        assert shown and all(name in s for s in shown)
        browser.screenshot(str(tmp_path / "viz.png"))
        assert (tmp_path / "viz.png").stat().st_size > 10_000
        assert browser.errors == []
    finally:
        browser.close()
        srv.shutdown()
        srv.server_close()


def test_saved_trace_round_trip(profiled, tmp_path) -> None:
    path = tmp_path / "trace.json"
    profiled.export_chrome_trace(str(path))
    assert server.load_trace(str(path)) == json.loads(json.dumps(profiled.viz_data(), default=str))
    (tmp_path / "other.json").write_text('{"traceEvents": []}')
    with pytest.raises(FormatError, match="not a baregrad profile"):
        server.load_trace(str(tmp_path / "other.json"))


def test_cli_viz_runs_a_script_under_the_profiler(prof_device: str, tmp_path) -> None:
    from baregrad.profile.viz.command import profile_script
    script = tmp_path / "tiny.py"
    script.write_text("import sys, numpy as np, baregrad as bg\n"
                      f"x = bg.Tensor(np.full(5, float(sys.argv[1]), np.float32), device='{prof_device}')\n"
                      "assert (x * x).sum().item() == 5 * float(sys.argv[1]) ** 2\n")
    data = profile_script(str(script), ["3"])
    names = [k["name"] for s in data["schedules"] for k in s["kernels"]]
    assert names and sum(1 for e in data["events"] if e["cat"] == "kernel" and e["track"] != "host") >= 1


def test_cli_viz_rejects_other_files(tmp_path) -> None:
    from baregrad.cli import main
    assert main(["viz", str(tmp_path / "notes.txt")]) == 1


def test_every_kernel_says_why_it_ends(profiled) -> None:
    from baregrad.profile.graph import REASONS
    data = profiled.viz_data()
    reasons = [k["reason"] for s in data["schedules"] for k in s["kernels"]]
    assert reasons and set(reasons) <= set(REASONS.values()) - {REASONS["unknown"]}
    assert REASONS["ASSIGN"] in reasons and REASONS["target"] in reasons  # the SGD update; the loss
    for s in data["schedules"]:
        ids = {n["id"] for n in s["nodes"]}
        assert all(src in ids for n in s["nodes"] for src in n["src"])
        # each kernel's output node is in the graph, tagged with that kernel
        assert {n["kernel"] for n in s["nodes"] if n["point"]} == set(range(len(s["kernels"])))
