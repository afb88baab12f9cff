"""The end of the demo: the HTML reports written to ``reports/``, and a summary read back from the store.

Everything the summary says about versions, verdicts, alerts and the loop comes from the metadata store, as
the CLI would show it, not from what the demo remembers doing.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.errors import NotFound
from shipyard.demo.folder import REPORTS
from shipyard.demo.narration import clip

if TYPE_CHECKING:
    from shipyard.core.entities import ModelVersion
    from shipyard.demo.narration import Narrator
    from shipyard.demo.story import DemoResult
    from shipyard.demo.traffic import Phase
    from shipyard.monitoring.config import MonitorSpec
    from shipyard.tracking import Client

MODEL = "churn"
COMMANDS = (  # each says `shipyard …`; printed with the way to call it from the user's shell (shipyard_command)
    ("shipyard models list", "the model, its versions and aliases"),
    ("shipyard models audit churn", "every alias move, canary and loop step, who and when"),
    ("shipyard pipeline runs", "the three training runs (two candidates, one retraining)"),
    ("shipyard datasets list", "churn-recent (each labelling run) and the pipeline's tables"),
    ("shipyard monitor windows churn-drift", "each window and each rule's outcome"),
    ("shipyard monitor alerts --state resolved", "the alerts the drift opened"),
    ("shipyard monitor loops", "the retraining loop and its steps"),
    ("shipyard gate run churn@1", "judge a version again on the policy's data (exit 1: blocked)"),
    ("shipyard audit verify", "check the hash-chained audit log against the aliases"),
)


class Summary:
    def __init__(self, client: Client, story: Narrator, phases: dict[str, Phase], spec: MonitorSpec) -> None:
        self.client = client
        self.story = story
        self.phases = phases
        self.spec = spec
        self.project = client.settings.project

    def write_reports(self, folder: Path, blocked: ModelVersion) -> list[Path]:
        """The monitor's report and the gate's reports of the champion and of the blocked candidate."""
        from shipyard.gates import Gate
        from shipyard.monitoring.report import render_html

        with self.story.step("Reports: HTML that works offline"):
            out = folder / REPORTS
            out.mkdir(exist_ok=True)
            monitors = self.client.backend.monitors
            windows = monitors.windows(self.project, self.spec.name, limit=168)
            alerts = monitors.alerts(self.project, monitor=self.spec.name)
            paths = [out / f"monitor-{self.spec.name}.html"]
            paths[0].write_text(render_html(self.spec, windows, alerts), encoding="utf-8")
            gate = Gate(self.client)
            champion = self.client.models.get(f"{MODEL}@champion")
            for version in (champion, blocked):
                path = out / f"gate-{version.name}-{version.version}.html"
                path.write_text(gate.report(version), encoding="utf-8")
                paths.append(path)
            for path in paths:
                self.story.say(str(path))
        return paths

    def print(self, result: DemoResult) -> None:
        say = self.story.print
        say()
        say(f"Summary: the loop ran in {result.seconds:.1f} s")
        say("  versions")
        for version in sorted(self.client.models.versions(MODEL), key=lambda v: v.version):
            say(f"    {self._version(version)}")
        say(f"  champion: {result.champion_before} → {result.champion_after}")
        say("  alerts")
        for alert in sorted(self.client.backend.monitors.alerts(self.project), key=lambda a: a.id):
            say(clip(f"    #{alert.id} {alert.state:<9} {alert.rule}: {alert.message}"))
        for loop in self.client.backend.loops.loops(self.project, model=MODEL):
            stages = [
                f"{entry['state']} {(after['at'] - entry['at']) / 1000:.1f} s"
                for entry, after in zip(loop.history, loop.history[1:], strict=False)
            ]
            say(f"  retraining loop {loop.id}: {' → '.join([*stages, loop.state])}")
        say(f"  {'quality of the served answers':<40}{'rows':>8}{'accuracy':>10}{'roc_auc':>9}")
        for name, phase in self.phases.items():
            for index, number in enumerate(phase.served_versions()):
                rows, accuracy, auc = phase.quality(number)
                label = name if index == 0 else ""
                say(f"    {label:<24}{f'{MODEL}@{number}':<12}{rows:>12,}{accuracy:>10.3f}{auc:>9.3f}")
        say("  reports")
        for path in result.reports:
            say(f"    {path}")
        say()
        call = shipyard_command()
        say(f"Explore what the demo left in {result.folder}:")
        if call != "shipyard":
            venv = Path(sys.executable).parent.parent
            say(f"  (`shipyard` is not on your PATH: `source {shlex.quote(str(venv))}/bin/activate` puts it there;")
            say("   the commands below call it by its full path and work as they are)")
        say(f"  cd {shlex.quote(str(result.folder))}")
        lines = [call + command.removeprefix("shipyard") for command, _ in COMMANDS]
        width = max(len(line) for line in lines)
        for line, (_, what) in zip(lines, COMMANDS, strict=True):
            say(f"  {line:<{width}}   # {what}")

    def _version(self, version: ModelVersion) -> str:
        from shipyard.gates import Gate

        inputs = len(version.signature.get("inputs", []))
        try:
            verdict = Gate(self.client).latest(version)
        except NotFound:
            judged = "no verdict"
        else:
            failed = [c["name"] for c in verdict.get("checks", []) if c["status"] in ("fail", "error")]
            judged = "gate passed" if verdict.get("passed") else f"gate BLOCKED ({', '.join(failed)})"
        trained = dict(version.datasets).get("train", "?")
        aliases = ", ".join(version.aliases) or "-"
        return f"{version.ref:<9} {inputs:>2} inputs  trained on {trained:<22} {judged:<40} {aliases}"


def shipyard_command() -> str:
    """How the user's shell reaches this installation's ``shipyard``: the bare name when it is on PATH, else
    the console script beside this Python (``.venv/bin/shipyard`` after ``make demo``), else ``python -m``."""
    here = Path(sys.executable).parent
    script = next((here / name for name in ("shipyard", "shipyard.exe") if (here / name).is_file()), None)
    found = shutil.which("shipyard")
    if found is not None and (script is None or Path(found).resolve() == script.resolve()):
        return "shipyard"
    if script is not None:
        return shlex.quote(str(script))
    return f"{shlex.quote(sys.executable)} -m shipyard.cli"
