"""Every `spyops` subcommand, given wrong arguments or malformed files, stops with one line that
names the problem, exits non-zero, and prints no traceback.

Each case runs the installed command line in its own process (as a user would), in a temporary
directory. Every leaf command of the `spyops` application must have at least one case here: a
new subcommand fails `test_every_subcommand_has_a_bad_input_case` until it gets one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import typer

from spyops.cli import app

NOT_UTF8 = b"\xff\xfe\x00\x80 not text \xc3\x28"


def leaf_commands() -> list[str]:
    root = typer.main.get_command(app)
    found: list[str] = []

    def walk(command: Any, path: list[str], parent: Any) -> None:
        context = typer.Context(command, parent=parent)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None
                walk(sub, [*path, name], context)
        else:
            found.append(" ".join(path))

    walk(root, [], None)
    return found


GROUPS = {name.split()[0] for name in leaf_commands() if " " in name}  # e.g. cluster, market


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]  # {files} placeholders are replaced by paths in the test's directory
    says: tuple[str, ...]  # each must appear in the error line (case-insensitive)

    @property
    def command(self) -> str:
        words = [a for a in self.argv if not a.startswith("-") and "{" not in a]
        return " ".join(words[:2] if words[0] in GROUPS else words[:1])

    @property
    def id(self) -> str:
        return " ".join(self.argv)


def case(argv: str, *says: str) -> Case:
    return Case(tuple(argv.split()), says)


UNKNOWN = "no such option: --frobnicate"
CASES = [
    # gateway-sim: its scenario file, numbers
    case("gateway-sim --scenario {not_utf8}", "{not_utf8}", "utf-8"),
    case("gateway-sim --scenario {bad_yaml}", "{bad_yaml}"),
    case("gateway-sim --scenario {missing}", "{missing}"),
    case("gateway-sim --port many", "--port"),
    case("gateway-sim --speed -1", "--speed"),
    # detector and bot: the runtime config the operator renders
    case("detector --config {not_utf8}", "{not_utf8}", "utf-8"),
    case("detector --config {bad_json}", "{bad_json}", "not json"),
    case("detector --config {wrong_config}", "{wrong_config}", "invalid runtime config"),
    case("detector --config {missing}", "{missing}"),
    case("detector --frobnicate", UNKNOWN),
    case("bot --config {not_utf8}", "{not_utf8}", "utf-8"),
    case("bot --config {bad_json}", "{bad_json}", "not json"),
    case("bot --config {wrong_config}", "{wrong_config}", "invalid runtime config"),
    case("bot --config {missing}", "{missing}"),
    case("bot", "missing option", "--config"),
    case("bot --config {missing} --state-dir {existing_file}", "--state-dir", "is a file"),
    # backend: token and store
    case("backend --token-file {missing}", "{missing}"),
    case("backend --token-file {not_utf8}", "{not_utf8}"),
    case("backend --token-file {short_token}", "16"),
    case("backend --token-file {token} --store nowhere:x", "nowhere:x"),
    case("backend --port many", "--port"),
    # azure-sim
    case("azure-sim --scenario {not_utf8}", "{not_utf8}"),
    case("azure-sim --scenario {bad_yaml}", "{bad_yaml}"),
    case("azure-sim --arm-port many", "--arm-port"),
    # detect: snapshot files
    case("detect {not_utf8}", "{not_utf8}", "utf-8"),
    case("detect {bad_csv}", "{bad_csv}"),
    case("detect {missing}", "{missing}"),
    case("detect {directory}", "{directory}"),
    case("detect", "missing argument"),
    case("detect {bad_csv} --min-edge cheap", "--min-edge"),
    # operator
    case("operator --all-namespaces --no-leader-elect --metrics-port 0 --kubeconfig {missing}", "{missing}"),
    case(
        "operator --all-namespaces --no-leader-elect --metrics-port 0 --kubeconfig {not_utf8}", "{not_utf8}"
    ),
    case(
        "operator --all-namespaces --no-leader-elect --metrics-port 0 --kubeconfig {bad_yaml}", "{bad_yaml}"
    ),
    case("operator --all-namespaces --no-leader-elect --metrics-port 0 --workers 0", "--workers"),
    case("operator", "--namespace"),
    case(
        "operator --all-namespaces --no-leader-elect --metrics-port 0 --kubeconfig {kubeconfig} --azure-ca-bundle {not_utf8}",
        "{not_utf8}",
    ),
    # gateway-probe
    case("gateway-probe --port many", "--port"),
    case("gateway-probe --frobnicate", UNKNOWN),
    # demo
    case("demo --scenario {not_utf8}", "{not_utf8}"),
    case("demo --scenario {bad_yaml}", "{bad_yaml}"),
    case("demo --port-base many", "--port-base"),
    case("demo --node bogus", "--node", "auto, real or kwok"),
    # version
    case("version extra", "unexpected extra argument"),
    # cluster
    case("cluster build --frobnicate", UNKNOWN),
    case("cluster up --port many", "--port"),
    case("cluster down --frobnicate", UNKNOWN),
    case("cluster status --frobnicate", UNKNOWN),
    case("cluster env --frobnicate", UNKNOWN),
    # market
    case("market generate --out {existing_file} --minutes 0.02", "{existing_file}"),
    case("market generate --out {directory} --date tomorrow", "tomorrow"),
    case("market generate", "missing option", "--out"),
    # bench
    case("bench realnode --frobnicate", UNKNOWN),
    case("bench podlife --rounds 0", "--rounds"),
    case("bench detector --seeds one,two", "one,two"),
    case("bench backend --clients many", "--clients"),
    case("bench gateway-sim --speeds fast", "fast"),
    case("bench operator --bulk many", "--bulk"),
    case("bench operator --failover-bulk 1", "--failover-bulk"),
    case("bench operator --lease-duration 5", "--lease-duration"),
    case("bench operator --profile {existing_file}/profile.txt", "--profile", "not a directory"),
    case("bench tick-to-order --samples many", "--samples"),
    case("bench tick-to-order --tracing loud", "--tracing"),
    case("bench tick-to-order --sampling-ratio 2", "--sampling-ratio"),
    # crds
    case("crds generate --dir {existing_file}", "{existing_file}"),
    case("crds check --dir {missing}", "drifted"),
    # dashboard (the static site for Azure Static Web Apps)
    case("dashboard build", "missing option", "--backend-url"),
    case("dashboard build --frobnicate", UNKNOWN),
    # tunnel (the edge's strongSwan files from the Terraform outputs)
    case("tunnel check --outputs {not_utf8} --conf {missing}", "{not_utf8}", "utf-8"),
    case(
        "tunnel render --outputs {bad_json} --out-dir {directory} --psk-file {missing}",
        "{bad_json}",
        "not json",
    ),
    # monitoring (Prometheus/Alertmanager builds, dashboards, the demo's notification receivers)
    case("monitoring build --frobnicate", UNKNOWN),
    case("monitoring dashboards --dir {existing_file}", "{existing_file}"),
    case("monitoring dashboards --check --dir {missing}", "drifted"),
    case(
        "monitoring receivers --smtp-port 1 --telegram-port 1 --telegram-token-file {not_utf8} --out {missing}",
        "{not_utf8}",
        "utf-8",
    ),
    case("monitoring receivers --smtp-port 0", "--smtp-port"),
    # images (the one image, built daemonless)
    case("images build --ca-bundle {missing}", "--ca-bundle"),
    case("images list --frobnicate", UNKNOWN),
    # infra
    case("infra build-tools --frobnicate", UNKNOWN),
    case("infra plan --env nowhere", "nowhere"),
    case("infra apply --env nowhere", "nowhere"),
    case("infra output --env nowhere", "nowhere"),
]


def test_every_subcommand_has_a_bad_input_case() -> None:
    covered = {c.command for c in CASES}
    missing = sorted(set(leaf_commands()) - covered)
    assert not missing, f"subcommands without a bad-input case in {__file__}: {missing}"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad-input")
    contents: dict[str, bytes] = {
        "not_utf8": NOT_UTF8,
        "bad_json": b'{"strategy": "paper/spy-0dte",',
        "wrong_config": b'{"strategy": 5, "gateway": "nowhere"}',
        "bad_yaml": b"steps: [\n  - at: 1\n    do: {unclosed\n",
        "bad_csv": b"ts,underlying\nnot a time,SPY\n",
        "short_token": b"short\n",
        "token": b"a-write-token-long-enough-0123\n",
        # A well-formed kubeconfig for a server nobody listens on (port 9 is discard): it is never
        # contacted, because each case fails on its own input first.
        "kubeconfig": (
            b"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            b"clusters: [{name: k, cluster: {server: 'https://127.0.0.1:9'}}]\n"
            b"users: [{name: u, user: {token: not-a-real-token}}]\n"
            b"contexts: [{name: c, context: {cluster: k, user: u}}]\n"
        ),
        "existing_file": b"a file, not a directory\n",
    }
    paths = {}
    for name, data in contents.items():
        path = root / f"{name}.input"
        path.write_bytes(data)
        paths[name] = str(path)
    (root / "a-directory").mkdir()
    paths["directory"] = str(root / "a-directory")
    paths["missing"] = str(root / "missing.input")
    paths["cwd"] = str(root)
    return paths


def run(bad: Case, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [part.format(**files) for part in bad.argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPYOPS_", "KUBECONFIG", "POD_"))}
    env["HOME"] = files["cwd"]  # nothing of the user's (state, caches, kubeconfig) is touched
    return subprocess.run(
        [sys.executable, "-m", "spyops", *argv],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        cwd=files["cwd"],
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def outcomes(files: dict[str, str]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case's process, four at a time (each is mostly interpreter start-up)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip((c.id for c in CASES), pool.map(lambda c: run(c, files), CASES), strict=True))


@pytest.mark.parametrize("bad", CASES, ids=lambda c: c.id)
def test_bad_input_gets_one_line_naming_the_problem(
    bad: Case, files: dict[str, str], outcomes: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = outcomes[bad.id]
    shown = "spyops " + " ".join(part.format(**files) for part in bad.argv)
    output = done.stdout + done.stderr
    assert done.returncode != 0, f"{shown} succeeded:\n{output}"
    assert "Traceback" not in output, f"{shown} printed a traceback:\n{output}"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{shown}: expected one line on stderr, got:\n{done.stderr}"
    wanted = [fragment.format(**files).lower() for fragment in bad.says]
    assert all(w in lines[0].lower() for w in wanted), f"{lines[0]!r} does not name {wanted}"
