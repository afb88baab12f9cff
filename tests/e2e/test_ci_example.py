"""examples/ci runs as its CI files say: every step of both files, in order, on a store shared between jobs.

No CI service is reachable here, so this test is the runner. It makes examples/ci a team's git repository
(the workflow under .github/workflows/, the GitLab file at the root), reads both CI files and runs the jobs
they define for each event, step by step, with the variables CI would set. `gh` and `curl` are fakes on
PATH that keep pull-request comments and merge-request notes in a JSON file and record every call. Each job
starts from a fresh clone, and the store is the one a team's CI uses, PostgreSQL (SHIPYARD_URI) with a
shared artifact store (SHIPYARD_ARTIFACTS: a folder here, s3:// in CI), so jobs share nothing but the store.

A step, condition, action or `${{ }}` expression the runner does not know fails the test, and each job's
list of steps run is compared with the one written here: editing a CI file means editing this test.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

import shipyard as sy

EXAMPLE = Path(__file__).parents[2] / "examples" / "ci"
GITHUB_FILE = ".github/workflows/shipyard-gate.yml"
GITLAB_FILE = ".gitlab-ci.yml"
MARKER = "<!-- shipyard-gate -->"
INSTALL = "pip install -r requirements.txt"
REPOSITORY = "team/churn"
GH_TOKEN = "ghs_test_token"
NOTES_TOKEN = "glpat-test-token"
GITLAB_API = "https://gitlab.example.com/api/v4"
GITLAB_PROJECT = "42"
BAD_PARAMS = "C = 0.001\nl1_ratio = 1.0  # a lasso this strong zeroes every feature: the model learns nothing\n"

# A tiny forge behind `gh` and `curl`: the comments or notes of each pull / merge request, and every call.
FAKE_FORGE = r"""
import json, os, re, subprocess, sys
from pathlib import Path

STATE = Path(os.environ["FAKE_FORGE"])
state = json.loads(STATE.read_text()) if STATE.exists() else {"calls": [], "threads": {}, "next_id": 100}
tool, args = Path(sys.argv[0]).name, sys.argv[1:]
call = {"tool": tool, "args": args}
state["calls"].append(call)
WITH_VALUE = {"--method", "-X", "-F", "--field", "--jq", "--repo", "--body-file", "--request", "--header",
              "--data-urlencode"}


def save():
    STATE.write_text(json.dumps(state, indent=1))


def stop(message, code):
    call["refused"] = message
    save()
    print(message, file=sys.stderr)
    sys.exit(code)


def option(name, default=None):
    return args[args.index(name) + 1] if name in args else default


def positionals():
    found, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            found.append(arg)
    return found


def write(thread, method, body, entry_id, author):
    entries = state["threads"].setdefault(thread, [])
    call["body"] = body
    if method in ("PATCH", "PUT"):
        [entry] = [e for e in entries if e["id"] == int(entry_id)]
        entry["body"] = body
    else:
        entry = {"id": state["next_id"], "body": body, **author}
        state["next_id"] += 1
        entries.append(entry)
    return entry


def gh():
    if os.environ.get("GH_TOKEN") != "ghs_test_token":
        stop("gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.", 4)
    bot = {"user": {"login": "github-actions[bot]"}}
    if args[:2] == ["pr", "comment"]:
        number = positionals()[2]
        entry = write(f"{option('--repo')}#{number}", "POST", Path(option("--body-file")).read_text(), None, bot)
        return f"https://github.com/{option('--repo')}/pull/{number}#issuecomment-{entry['id']}"
    endpoint, method = positionals()[1], option("--method", "GET")
    if method == "GET" and (found := re.fullmatch(r"repos/(.+)/issues/(\d+)/comments", endpoint)):
        listing = json.dumps(state["threads"].get(f"{found[1]}#{found[2]}", []))
        jq = subprocess.run(["jq", "-r", option("--jq", ".")], input=listing, capture_output=True, text=True)
        return jq.stdout.rstrip("\n") if jq.returncode == 0 else stop(f"jq: {jq.stderr}", 1)
    if method == "PATCH" and (found := re.fullmatch(r"repos/(.+)/issues/comments/(\d+)", endpoint)):
        name, _, file = option("-F").partition("=@")
        assert name == "body", option("-F")
        threads = [t for t, entries in state["threads"].items() if any(e["id"] == int(found[2]) for e in entries)]
        return json.dumps(write(threads[0], "PATCH", Path(file).read_text(), found[2], bot))
    stop(f"fake gh: unexpected call {args}", 1)


def curl():
    if f"PRIVATE-TOKEN: glpat-test-token" not in [args[i + 1] for i, a in enumerate(args) if a == "--header"]:
        stop('curl: (22) The requested URL returned error: 401 {"message":"401 Unauthorized"}', 22)
    url = positionals()[0]
    found = re.fullmatch(r"https://gitlab\.example\.com/api/v4/projects/(\d+)/merge_requests/(\d+)/notes(?:/(\d+))?"
                         r"(?:\?per_page=100)?", url)
    if not found:
        stop(f"curl: (22) The requested URL returned error: 404 ({url})", 22)
    thread, method = f"{found[1]}!{found[2]}", option("--request", "GET")
    if method == "GET":
        return json.dumps(state["threads"].get(thread, []))
    name, _, file = option("--data-urlencode").partition("@")
    assert name == "body", option("--data-urlencode")
    author = {"author": {"username": "project_42_bot"}}
    return json.dumps(write(thread, method, Path(file).read_text(), found[3], author))


print({"gh": gh, "curl": curl}[tool]())
save()
"""


@dataclass
class Job:
    """What one CI job did: each step's label and outcome in order, the job's result, and its files."""

    folder: Path
    steps: list[tuple[str, str]] = field(default_factory=list)
    logs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    artifacts: dict[str, bytes] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(outcome in ("success", "skipped") for _, outcome in self.steps)

    def log(self, label: str) -> str:
        done = self.logs[label]
        return f"{label} exited {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


class Machine:
    """The team's repository, the shared store, the fake forge, and a way to run a step as CI would."""

    def __init__(self, root: Path, store_url: str) -> None:
        self.root = root
        self.origin = root / "origin"
        self.store = {"SHIPYARD_URI": store_url, "SHIPYARD_ARTIFACTS": str(root / "artifacts")}
        self.bin = root / "bin"
        self.forge = root / "forge.json"
        self.jobs = 0
        self._make_tools()
        self._make_repository()

    def _make_tools(self) -> None:
        self.bin.mkdir()
        tools = {
            "python": f'#!/bin/sh\nexec "{sys.executable}" "$@"\n',
            "shipyard": f'#!/bin/sh\nexec "{sys.executable}" -m shipyard.cli "$@"\n',
            "gh": f"#!{sys.executable}\n{FAKE_FORGE}",
            "curl": f"#!{sys.executable}\n{FAKE_FORGE}",
        }
        for name, text in tools.items():
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)

    def _make_repository(self) -> None:
        """examples/ci as a team keeps it: the CI files where GitHub and GitLab look for them, on main."""
        shutil.copytree(EXAMPLE, self.origin, ignore=shutil.ignore_patterns(".shipyard"))
        (self.origin / ".github" / "workflows").mkdir(parents=True)
        (self.origin / "github" / "shipyard-gate.yml").rename(self.origin / GITHUB_FILE)
        (self.origin / "gitlab" / ".gitlab-ci.yml").rename(self.origin / GITLAB_FILE)
        (self.origin / "github").rmdir()
        (self.origin / "gitlab").rmdir()
        self.git("init", "--quiet", "--initial-branch", "main")
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", "Train and gate the churn model in CI")

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        base = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.root),
            "FAKE_FORGE": str(self.forge),
            "GIT_AUTHOR_NAME": "Dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "Dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
        }
        if "PYTHONPATH" in os.environ:  # the Shipyard under test, when it is not the installed one
            base["PYTHONPATH"] = os.environ["PYTHONPATH"]
        return {**base, **(extra or {})}

    def git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.origin, env=self.env(), capture_output=True, text=True, check=True)

    def pull_request(self, branch: str, params: str) -> None:
        """A branch off main that rewrites the hyperparameters in params.toml, committed."""
        self.git("checkout", "--quiet", "-b", branch, "main")
        text = (self.origin / "params.toml").read_text()
        (self.origin / "params.toml").write_text(re.sub(r"(?ms)^C = .*", params, text))
        self.git("commit", "--quiet", "--all", "--message", f"{branch}: new hyperparameters")
        self.git("checkout", "--quiet", "main")

    def merge(self, branch: str) -> None:
        self.git("merge", "--quiet", "--no-ff", "--message", f"Merge {branch}", branch)

    def checkout(self, ref: str) -> Path:
        """A fresh clone at ``ref``, as every CI job starts."""
        self.jobs += 1
        folder = self.root / f"job-{self.jobs}"
        subprocess.run(
            ["git", "clone", "--quiet", "--branch", ref, str(self.origin), str(folder)], env=self.env(), check=True
        )
        return folder

    def run(self, job: Job, label: str, command: str, env: Mapping[str, str]) -> str:
        """One shell step in the job's clone, as runners run them (bash, stop at the first failing command)."""
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command],
            cwd=job.folder,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=240,
        )
        job.logs[label] = done
        return "success" if done.returncode == 0 else "failure"

    def forge_state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.forge.read_text()) if self.forge.exists() else {"calls": []}
        return state

    def registry(self) -> tuple[int | None, list[int], list[sy.AuditEvent]]:
        """What the store holds, read with the Python API: champion's version, every version, the audit log."""
        client = sy.Client(self.store["SHIPYARD_URI"], artifacts=self.store["SHIPYARD_ARTIFACTS"], cwd=self.root)
        try:
            versions = client.models.versions("churn", project="churn")
            champion = next((v.version for v in versions if "champion" in v.aliases), None)
            return champion, [v.version for v in versions], client.models.audit_log(project="churn")
        finally:
            client.close()


def installable(job: Job) -> str:
    """The install step, without a package index: what requirements.txt asks for is what this test runs with."""
    for line in (job.folder / "requirements.txt").read_text().splitlines():
        if not (line := line.split("#")[0].strip()):
            continue
        wanted = Requirement(line)
        installed = importlib.metadata.distribution(wanted.name)
        assert wanted.specifier.contains(installed.version, prereleases=True), (line, installed.version)
        assert wanted.extras <= set(installed.metadata.get_all("Provides-Extra") or []), line
    return "success"


# ----------------------------------------------------------------------------------------- GitHub Actions

GITHUB_CONDITIONS: dict[str, Callable[[dict[str, str], dict[str, str]], bool]] = {
    "github.event_name == 'pull_request'": lambda context, _: context["github.event_name"] == "pull_request",
    "github.event_name == 'push'": lambda context, _: context["github.event_name"] == "push",
    "${{ !cancelled() && steps.gate.outcome != 'skipped' }}": lambda _, steps: (
        steps.get("gate", "skipped") != "skipped"
    ),
}


def github_condition(text: str) -> Callable[[dict[str, str], dict[str, str]], bool]:
    if text not in GITHUB_CONDITIONS:
        pytest.fail(f"the test does not know the condition {text!r}; teach it")
    return GITHUB_CONDITIONS[text]


class GitHub:
    """Runs .github/workflows/shipyard-gate.yml for one event: the jobs whose `if` holds, their steps in order."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def event(self, name: str, ref: str, pull_request: int | None = None) -> dict[str, Job]:
        workflow = yaml.safe_load((self.machine.origin / GITHUB_FILE).read_text())
        triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
        assert set(triggers) == {"pull_request", "push"} and triggers["push"] == {"branches": ["main"]}
        assert workflow["permissions"] == {"contents": "read"}
        context = {
            "github.event_name": name,
            "github.token": GH_TOKEN,
            "github.repository": REPOSITORY,
            "github.server_url": "https://github.com",
            "github.run_id": "4242",
            "github.event.pull_request.number": str(pull_request),
            "secrets.SHIPYARD_URI": self.machine.store["SHIPYARD_URI"],
            "secrets.SHIPYARD_ARTIFACTS": self.machine.store["SHIPYARD_ARTIFACTS"],
            "secrets.AWS_ACCESS_KEY_ID": "test-key-id",
            "secrets.AWS_SECRET_ACCESS_KEY": "test-secret",
        }
        runner = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_EVENT_NAME": name}
        env = {**runner, **expand(workflow.get("env", {}), context)}
        jobs = {}
        for job_name, spec in workflow["jobs"].items():
            if any(step.get("run") == "./gate.sh comment" for step in spec["steps"]):
                assert spec["permissions"] == {"contents": "read", "pull-requests": "write"}
            if github_condition(spec["if"])(context, {}):
                jobs[job_name] = self.job(spec, ref, {**env, **expand(spec.get("env", {}), context)}, context)
        return jobs

    def job(self, spec: dict[str, Any], ref: str, env: dict[str, str], context: dict[str, str]) -> Job:
        job = Job(folder=self.machine.root / "not-checked-out")
        outcomes: dict[str, str] = {}
        for step in spec["steps"]:
            label = step.get("uses") or step["run"]
            condition = step.get("if")
            runs = job.passed if condition is None else github_condition(condition)(context, outcomes)
            if not runs:
                outcome = "skipped"
            elif "uses" in step:
                outcome = self.action(job, step, ref)
            elif step["run"] == INSTALL:
                outcome = installable(job)
            else:
                outcome = self.machine.run(job, label, step["run"], {**env, **expand(step.get("env", {}), context)})
            job.steps.append((label, outcome))
            if "id" in step:
                outcomes[step["id"]] = outcome
        return job

    def action(self, job: Job, step: dict[str, Any], ref: str) -> str:
        action, settings = step["uses"], step.get("with", {})
        if action == "actions/checkout@v4":
            job.folder = self.machine.checkout(ref)
        elif action == "actions/setup-python@v5":
            assert settings == {"python-version": "3.12", "cache": "pip"}
        elif action == "actions/upload-artifact@v4":
            path = job.folder / settings["path"]
            assert settings["if-no-files-found"] == "ignore"
            if path.is_file():
                job.artifacts[settings["name"]] = path.read_bytes()
        else:
            pytest.fail(f"the test does not run the action {action}; teach it what the action does")
        return "success"


def expand(values: Mapping[str, Any], context: Mapping[str, str]) -> dict[str, str]:
    """`${{ name }}` replaced by its test value; a name the test does not know fails it."""

    def value(found: re.Match[str]) -> str:
        name = found[1]
        if name not in context:
            pytest.fail(f"the test does not know the expression ${{{{ {name} }}}}; give it a test value")
        return context[name]

    return {key: re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", value, str(text)) for key, text in values.items()}


# ------------------------------------------------------------------------------------------------ GitLab CI


def gitlab_rule(rule: str, variables: Mapping[str, str]) -> bool:
    """`$A == "text"` or `$A == $B`, as GitLab evaluates them (an unset variable is null)."""
    found = re.fullmatch(r'\$(\w+) == (?:"([^"]*)"|\$(\w+))', rule)
    if found is None:
        pytest.fail(f"the test does not know the rule {rule!r}; teach it")
    right = found[2] if found[2] is not None else variables.get(found[3])
    return variables.get(found[1]) == right


def gitlab_expand(value: str, variables: Mapping[str, str]) -> str:
    """`$NAME` in a job's variables replaced by its value; a variable the test does not set fails it."""

    def lookup(found: re.Match[str]) -> str:
        if found[1] not in variables:
            pytest.fail(f"the test does not set the variable ${found[1]}; give it a test value")
        return variables[found[1]]

    return re.sub(r"\$(\w+)", lookup, value)


class GitLab:
    """Runs .gitlab-ci.yml for one pipeline: the jobs whose rules match, stage by stage, as a runner would."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def pipeline(self, source: str, ref: str, merge_request: int | None = None) -> dict[str, Job]:
        config = yaml.safe_load((self.machine.origin / GITLAB_FILE).read_text())
        variables = {
            "CI": "true",
            "GITLAB_CI": "true",
            "CI_PIPELINE_SOURCE": source,
            "CI_DEFAULT_BRANCH": "main",
            "CI_API_V4_URL": GITLAB_API,
            "CI_PROJECT_ID": GITLAB_PROJECT,
            "CI_JOB_TOKEN": "job-token-that-cannot-post-notes",
            "CI_JOB_URL": "https://gitlab.example.com/team/churn/-/jobs/77",
            **self.machine.store,
            "AWS_ACCESS_KEY_ID": "test-key-id",
            "AWS_SECRET_ACCESS_KEY": "test-secret",
            "GITLAB_NOTES_TOKEN": NOTES_TOKEN,
        }
        # A merge request pipeline has no CI_COMMIT_BRANCH; a branch pipeline has no merge request.
        variables |= {"CI_MERGE_REQUEST_IID": str(merge_request)} if merge_request else {"CI_COMMIT_BRANCH": ref}
        assert any(gitlab_rule(rule["if"], variables) for rule in config["workflow"]["rules"])
        default = config["default"]
        assert default["image"] == "python:3.12"
        jobs = {}
        for stage in config["stages"]:
            for name, spec in config.items():
                runs = isinstance(spec, dict) and spec.get("stage") == stage
                if runs and any(gitlab_rule(rule["if"], variables) for rule in spec["rules"]):
                    jobs[name] = self.job(spec, default, ref, variables)
        return jobs

    def job(self, spec: dict[str, Any], default: dict[str, Any], ref: str, variables: dict[str, str]) -> Job:
        job = Job(folder=self.machine.checkout(ref))
        variables = {**variables, **{k: gitlab_expand(v, variables) for k, v in spec.get("variables", {}).items()}}
        script = [*spec.get("before_script", default["before_script"]), *spec["script"]]
        for command in script:  # one shell: the first failing line ends the script
            if not job.passed:
                outcome = "skipped"
            elif command == INSTALL:
                outcome = installable(job)
            else:
                outcome = self.machine.run(job, command, command, variables)
            job.steps.append((command, outcome))
        for command in spec.get("after_script", []):  # always, in a new shell; its failure fails nothing
            outcome = self.machine.run(job, command, command, variables)
            job.steps.append((f"after_script: {command}", "success" if outcome == "success" else "ignored failure"))
        artifacts = spec.get("artifacts", {})
        if artifacts and (artifacts.get("when") == "always" or job.passed):
            for path in artifacts["paths"]:
                if (job.folder / path).is_file():
                    job.artifacts[path] = (job.folder / path).read_bytes()
        return job


# -------------------------------------------------------------------------------------------------- tests


@pytest.fixture
def machine(tmp_path: Path, postgres_url: str) -> Machine:
    made = Machine(tmp_path, postgres_url)
    # Once, before the first pull request (docs/ci.md): a maintainer creates the schema and applies main's policy.
    setup = Job(folder=made.checkout("main"))
    done = made.run(setup, "setup", "shipyard db upgrade && shipyard gate policy apply", made.store)
    assert done == "success", setup.log("setup")
    return made


@pytest.mark.parametrize("step", ["train", "gate", "promote"])
def test_gate_sh_refuses_to_run_in_ci_without_the_shared_store(step: str, tmp_path: Path) -> None:
    """A missing secret (or a fork's pull request) must not gate against a throwaway ./.shipyard."""
    shutil.copytree(EXAMPLE, tmp_path / "ci", ignore=shutil.ignore_patterns(".shipyard"))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true", "SHIPYARD_URI": ""}
    done = subprocess.run(["bash", "ci/gate.sh", step], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("error: SHIPYARD_URI is empty: in CI the gate needs the team's shared store.")
    assert not (tmp_path / "ci" / ".shipyard").exists() and not (tmp_path / "ci" / "model-ref.txt").exists()


def test_gate_sh_names_its_steps_when_given_another() -> None:
    done = subprocess.run(["bash", str(EXAMPLE / "gate.sh"), "deploy"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.startswith("error: usage: ./gate.sh train|gate|comment|promote (got 'deploy')")


def pr_steps(gate: str) -> list[tuple[str, str]]:
    return [
        ("actions/checkout@v4", "success"),
        ("actions/setup-python@v5", "success"),
        (INSTALL, "success"),
        ("./gate.sh train", "success"),
        ("./gate.sh gate", gate),
        ("./gate.sh comment", "success"),
        ("actions/upload-artifact@v4", "success"),
    ]


def merge_steps(promote: str) -> list[tuple[str, str]]:
    return [
        ("actions/checkout@v4", "success"),
        ("actions/setup-python@v5", "success"),
        (INSTALL, "success"),
        ("./gate.sh promote", promote),
    ]


def comments(machine: Machine, thread: str) -> list[str]:
    return [entry["body"] for entry in machine.forge_state()["threads"].get(thread, [])]


def assert_comment_is_the_report(body: str, job: Job) -> None:
    report = (job.folder / "report.md").read_text()
    assert body.startswith(f"{MARKER}\n{report}\n"), body


@pytest.mark.slow
@pytest.mark.postgres
def test_github_workflow_gates_the_pull_request_and_promotes_on_merge(machine: Machine) -> None:
    github = GitHub(machine)
    machine.pull_request("stronger-ridge", "C = 0.5\nl1_ratio = 0.0\n")
    jobs = github.event("pull_request", "stronger-ridge", pull_request=7)
    assert list(jobs) == ["gate"]
    gate = jobs["gate"]
    assert gate.steps == pr_steps(gate="success"), gate.log("./gate.sh gate")
    [body] = comments(machine, f"{REPOSITORY}#7")
    assert_comment_is_the_report(body, gate)
    assert "✅ Gate **PASSED** for churn@1" in body and "Merging promotes churn@1 to `champion`." in body
    assert body.endswith("HTML report: https://github.com/team/churn/actions/runs/4242\n")
    assert gate.artifacts["gate-report"].startswith(b"<!DOCTYPE html>")

    machine.merge("stronger-ridge")
    jobs = github.event("push", "main")
    assert list(jobs) == ["promote"]
    assert jobs["promote"].steps == merge_steps(promote="success"), jobs["promote"].log("./gate.sh promote")
    assert machine.registry()[:2] == (1, [1])

    machine.pull_request("strong-lasso", BAD_PARAMS)
    for push in (1, 2):  # the second push trains nothing new and updates the one comment
        jobs = github.event("pull_request", "strong-lasso", pull_request=8)
        gate = jobs["gate"]
        assert gate.steps == pr_steps(gate="failure"), gate.log("./gate.sh comment")
        assert not gate.passed
        assert gate.logs["./gate.sh gate"].returncode == 1, gate.log("./gate.sh gate")
        [body] = comments(machine, f"{REPOSITORY}#8")
        assert_comment_is_the_report(body, gate)
        assert "❌ Gate **FAILED** for churn@2" in body and "⛔ **Blocked**: churn@2 cannot become `champion`" in body
        assert "| ❌ fail | `min_metric:roc_auc` |" in body and "| ❌ fail | `no_regression:roc_auc` |" in body
        assert gate.artifacts["gate-report"].startswith(b"<!DOCTYPE html>")
        said = f"https://github.com/{REPOSITORY}/pull/8#issuecomment-101" if push == 1 else "updated the gate's comment"
        assert gate.logs["./gate.sh comment"].stdout.startswith(said)
    writes = [call["args"] for call in machine.forge_state()["calls"] if "body" in call]
    assert writes == [
        ["pr", "comment", "7", "--repo", REPOSITORY, "--body-file", "comment.md"],
        ["pr", "comment", "8", "--repo", REPOSITORY, "--body-file", "comment.md"],
        ["api", "--method", "PATCH", f"repos/{REPOSITORY}/issues/comments/101", "-F", "body=@comment.md"],
    ]

    machine.merge("strong-lasso")  # merged although the check failed (say, an admin bypassed branch protection)
    jobs = github.event("push", "main")
    promote = jobs["promote"]
    assert promote.steps == merge_steps(promote="failure")
    assert promote.logs["./gate.sh promote"].returncode == 1, promote.log("./gate.sh promote")
    assert "churn@2 may not become 'champion'" in promote.logs["./gate.sh promote"].stderr
    champion, versions, audit = machine.registry()
    assert (champion, versions) == (1, [2, 1])  # the second push reused churn@2; the merge moved nothing
    [refused] = [event for event in audit if event.action == "gate.refused"]
    assert refused.subject == "model:churn@2" and refused.details["alias"] == "champion"

    # An admin sets the gate aside from their own machine, with a reason; the merge job, re-run, has nothing to move.
    laptop = Job(folder=machine.checkout("main"))
    override = "shipyard promote churn@2 --override --reason 'INC-42: the sparse model is intended'"
    admin = {**machine.store, "SHIPYARD_ALLOW_OVERRIDE": "1"}
    assert machine.run(laptop, "override", override, admin) == "success", laptop.log("override")
    promote = github.event("push", "main")["promote"]
    assert promote.steps == merge_steps(promote="success")
    assert promote.logs["./gate.sh promote"].stdout == "churn@2 is already champion\n"
    champion, _, audit = machine.registry()
    [overridden] = [event for event in audit if event.action == "gate.override"]
    assert champion == 2 and overridden.details["reason"] == "INC-42: the sparse model is intended"


@pytest.mark.slow
@pytest.mark.postgres
def test_gitlab_pipeline_gates_the_merge_request_and_promotes_on_merge(machine: Machine) -> None:
    gitlab = GitLab(machine)
    machine.pull_request("stronger-ridge", "C = 0.5\nl1_ratio = 0.0\n")
    jobs = gitlab.pipeline("merge_request_event", "stronger-ridge", merge_request=3)
    assert list(jobs) == ["gate"]
    gate = jobs["gate"]
    assert gate.steps == [
        (INSTALL, "success"),
        ("./gate.sh train", "success"),
        ("./gate.sh gate", "success"),
        ("after_script: ./gate.sh comment", "success"),
    ], gate.log("./gate.sh gate")
    [body] = comments(machine, f"{GITLAB_PROJECT}!3")
    assert_comment_is_the_report(body, gate)
    assert "✅ Gate **PASSED** for churn@1" in body
    assert body.endswith("HTML report: https://gitlab.example.com/team/churn/-/jobs/77/artifacts/file/report.html\n")
    assert gate.artifacts["report.html"].startswith(b"<!DOCTYPE html>")

    machine.merge("stronger-ridge")
    jobs = gitlab.pipeline("push", "main")
    assert list(jobs) == ["promote"]
    assert jobs["promote"].steps == [(INSTALL, "success"), ("./gate.sh promote", "success")]
    assert machine.registry()[:2] == (1, [1])

    machine.pull_request("strong-lasso", BAD_PARAMS)
    for push in (1, 2):  # the second push trains nothing new and updates the one note
        gate = gitlab.pipeline("merge_request_event", "strong-lasso", merge_request=4)["gate"]
        assert gate.steps == [
            (INSTALL, "success"),
            ("./gate.sh train", "success"),
            ("./gate.sh gate", "failure"),
            ("after_script: ./gate.sh comment", "success"),
        ], gate.log("after_script: ./gate.sh comment")
        assert gate.logs["./gate.sh gate"].returncode == 1
        [body] = comments(machine, f"{GITLAB_PROJECT}!4")
        assert_comment_is_the_report(body, gate)
        assert "❌ Gate **FAILED** for churn@2" in body and "⛔ **Blocked**" in body
        assert gate.artifacts["report.html"].startswith(b"<!DOCTYPE html>")
        said = "posted" if push == 1 else "updated"
        assert gate.logs["./gate.sh comment"].stdout == f"{said} the gate's note on merge request !4\n"
    notes = f"{GITLAB_API}/projects/{GITLAB_PROJECT}/merge_requests/4/notes"
    writes = [call["args"] for call in machine.forge_state()["calls"] if "body" in call][1:]
    header = ["--header", f"PRIVATE-TOKEN: {NOTES_TOKEN}", "--data-urlencode", "body@comment.md"]
    assert writes == [
        ["--fail", "--silent", "--show-error", "--request", "POST", *header, notes],
        ["--fail", "--silent", "--show-error", "--request", "PUT", *header, f"{notes}/101"],
    ]

    machine.merge("strong-lasso")
    promote = gitlab.pipeline("push", "main")["promote"]
    assert promote.steps == [(INSTALL, "success"), ("./gate.sh promote", "failure")]
    assert "churn@2 may not become 'champion'" in promote.logs["./gate.sh promote"].stderr
    assert machine.registry()[:2] == (1, [2, 1])

    # A push straight to main, never gated: there is no version of its inputs to promote, and none is trained.
    params = machine.origin / "params.toml"
    params.write_text(params.read_text().replace("l1_ratio = 1.0", "l1_ratio = 0.9"))
    machine.git("commit", "--quiet", "--all", "--message", "Untested tweak, pushed to main")
    promote = gitlab.pipeline("push", "main")["promote"]
    assert promote.steps == [(INSTALL, "success"), ("./gate.sh promote", "failure")]
    assert promote.logs["./gate.sh promote"].returncode == 2
    refused = promote.logs["./gate.sh promote"].stderr
    assert "no version of churn was trained from this commit's training inputs" in refused
    assert machine.registry()[:2] == (1, [2, 1])
