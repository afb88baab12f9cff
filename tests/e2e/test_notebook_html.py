"""Every notebook display in a real browser: the page loads, no user string runs as script, the report frame fills.

Chromium renders one page holding each ``_repr_html_`` (as a notebook would place them). A probe script of
the page's own, run once everything has loaded, writes what the browser sees: the page title (which the
injected user strings would change if they ever ran), the text inside the verdict's frame, the elements
the user strings would have become. Outside CI a missing browser skips with the reason (``make browser``
installs it); under ``CI=true`` it fails.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

import shipyard as sy
from shipyard.gates import Gate
from shipyard.monitoring.config import parse_monitors
from shipyard.monitoring.service import Monitoring
from shipyard.monitoring.windows import Window
from tests._html_helpers import TRICKY, XSS, XSS_IMG
from tests.conftest import IN_CI
from tests.monitoring.conftest import MINUTE, T0, LogRows, churn, client, frame, log_rows  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow  # two browser runs over a store with a gate verdict and monitor windows

TITLE = "Shipyard displays"
POLICY = """
[gate]
label = "churned"
[[gate.checks]]
kind = "min_metric"
metric = "roc_auc"
threshold = 0.75
[[gate.checks]]
kind = "min_rows"
min = 100
"""
PROBE = """
<script>
window.addEventListener("load", () => {
  const docs = [...document.querySelectorAll("iframe")].map((f) => f.contentDocument);
  const frames = docs.map((d) => d.body.innerText);
  const inFrames = docs.map((d) => d.querySelectorAll("script").length);
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    title: document.title,
    frames: frames,
    scriptsInFrames: inFrames,
    injected: document.querySelectorAll("section script, section img").length,
    sections: [...document.querySelectorAll("section")].map((s) => [s.id, s.innerText.length]),
    charts: document.querySelectorAll("section svg").length,
  });
  document.body.appendChild(probe);
});
</script>
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "chromium is not installed; `make browser` installs it (apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(message + ". CI needs it: .ci/run runs `make browser` first.")
        pytest.skip(message)
    return found


@pytest.fixture
def page(client: sy.Client, log_rows: LogRows, tmp_path: Path) -> Path:  # noqa: F811 (fixtures imported above)
    """One page with every display, user strings that would retitle the page among their names and values."""
    with client.start_run(project="default", name=XSS) as run:
        run.log_params({"note": TRICKY, "lr": 0.1})
        run.log_metric("auc", 0.91)
        run.set_tag("team", XSS_IMG)
        data = client.datasets.register("notes", pd.DataFrame({"<b>x</b>": [1.0, 2.0, None], "t": [XSS] * 3}))
    evaluation = frame(600, seed=7)
    evaluation["churned"] = (evaluation["tenure"] - evaluation["calls"] > 0).astype(int)
    client.datasets.register("churn-eval", evaluation)
    (tmp_path / "shipyard.toml").write_text(POLICY)
    verdict = Gate(client).evaluate("churn@1", data="churn-eval")
    [spec] = parse_monitors(
        [{"name": "drift", "model": "churn@live", "window": "1m", "rules": [{"kind": "feature_drift"}]}]
    )
    log_rows(0, 2_000)
    log_rows(1, 2_000, shift=2.0)
    [outcome] = Monitoring(client, [spec]).run(now_ms=T0 + 2 * MINUTE)
    window = Window(T0, T0 + MINUTE, pa.table({"at": [T0], "version": [1], "note": [XSS]}))
    displays: dict[str, Any] = {
        "run": client.get_run(run.id),
        "runs": client.search_runs(),
        "dataset": data,
        "model": client.models.get("churn@1"),
        "verdict": verdict,
        "drift": outcome.windows[1].drift["feature_drift"],
        "column": outcome.windows[1].drift["feature_drift"].columns["tenure"],
        "window": outcome.windows[1],
        "monitor": outcome,
        "log-window": window,
    }
    sections = "".join(f'<section id="{name}">{shown._repr_html_()}</section>' for name, shown in displays.items())
    path = tmp_path / "page.html"
    path.write_text(
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/><title>{TITLE}</title></head>'
        f"<body>{sections}{PROBE}</body></html>",
        encoding="utf-8",
    )
    return path


def browse(chromium: str, *args: str) -> str:
    done = subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_every_display_loads_and_no_user_string_runs(chromium: str, page: Path) -> None:
    dom = browse(chromium, "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, "the probe did not run: the page did not finish loading"
    seen = json.loads(html.unescape(found.group(1)))
    assert seen["title"] == TITLE  # an injected script would have retitled the page
    assert seen["injected"] == 0 and seen["scriptsInFrames"] == [0]
    assert [name for name, _length in seen["sections"]] == [
        "run", "runs", "dataset", "model", "verdict", "drift", "column", "window", "monitor", "log-window"
    ]  # fmt: skip
    assert all(length > 40 for _name, length in seen["sections"])
    [report] = seen["frames"]
    assert "Gate PASSED" in report and "min_metric" in report  # the frame holds the report, not an empty page
    assert seen["charts"] >= 10


def test_the_page_renders_to_a_screenshot(chromium: str, page: Path) -> None:
    shot = page.with_suffix(".png")
    browse(chromium, "--window-size=1200,4000", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
