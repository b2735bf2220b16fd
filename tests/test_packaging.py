"""Packaging: the production indexer neither depends on nor imports what only the demo,
the local chains, the tests and the benchmarks need."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

from indexer.commands.demo import DEMO_REQUIRES

ROOT = Path(__file__).resolve().parents[1]
DEMO_ONLY = ("web3", "solders", "solana", "matplotlib")
"""Distributions (and their top-level modules) the production indexer must not need."""
NOT_PRODUCTION = ("indexer.demo", "indexer.localchains")

# Imports indexer.cli and every module under indexer/ but the demo and the local chains
# (plus argv[1:], to show the check can fail), in a fresh interpreter; prints what came in.
_PROBE = """
import importlib, json, pkgutil, sys

SKIP = {skip!r}
before = set(sys.modules)
imported = []


def walk(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if any(info.name == s or info.name.startswith(s + ".") for s in SKIP):
            continue
        module = importlib.import_module(info.name)
        imported.append(info.name)
        if info.ispkg:
            walk(module)


import indexer
import indexer.cli
walk(indexer)
for extra in sys.argv[1:]:
    importlib.import_module(extra)
json.dump({{"imported": imported, "loaded": sorted(set(sys.modules) - before)}}, sys.stdout)
"""


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement string (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _project() -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project


def _probe(*extra: str) -> dict[str, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(skip=NOT_PRODUCTION), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, list[str]] = json.loads(proc.stdout)
    return result


def _demo_only(modules: list[str]) -> list[str]:
    return [m for m in modules if m.partition(".")[0] in DEMO_ONLY or m.startswith("eth_")]


def test_the_core_dependencies_leave_out_the_demo_libraries() -> None:
    core = {_name(r) for r in _project()["dependencies"]}
    assert not core & set(DEMO_ONLY), f"demo-only libraries in [project] dependencies: {sorted(core & set(DEMO_ONLY))}"


def test_the_demo_extra_has_them_and_the_test_extra_pulls_it_in() -> None:
    extras = _project()["optional-dependencies"]
    assert {_name(r) for r in extras["demo"]} >= {"solders", "web3", "matplotlib"}
    assert "solana" in {_name(r) for r in extras["bench"]}, "solana-py is the benchmarks' Solana baseline"
    assert set(DEMO_REQUIRES) == {_name(r) for r in extras["demo"]}, "what `demo` checks for is the demo extra"
    pulled = [r for r in extras["test"] if _name(r) == "depin-indexer"]
    assert pulled, "the test extra installs the demo through a self-reference"
    assert {"demo", "bench"} <= {e.strip() for e in re.findall(r"\[(.*)\]", pulled[0])[0].split(",")}


def test_the_production_modules_import_none_of_the_demo_libraries() -> None:
    result = _probe()
    imported = set(result["imported"])
    # The walk reached the whole product, the decoders and the demo command included.
    assert {"indexer.cli", "indexer.commands.demo", "indexer.decode.solana", "indexer.chains.solana"} <= imported
    assert not any(m.startswith(NOT_PRODUCTION) for m in imported)
    assert _demo_only(result["loaded"]) == []


def test_the_probe_sees_a_demo_library_when_one_is_imported() -> None:
    # The same probe, with one local-chain module on top: the check above can fail.
    result = _probe("indexer.localchains.solana_ledger")
    assert "solders" in _demo_only(result["loaded"])


def test_the_decoders_import_only_the_standard_library() -> None:
    code = (
        "import json, sys; before = set(sys.modules); "
        "import indexer.decode.columns, indexer.decode.evm, indexer.decode.solana; "
        "json.dump(sorted(set(sys.modules) - before), sys.stdout)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    foreign = [m for m in json.loads(proc.stdout) if m.partition(".")[0] not in sys.stdlib_module_names | {"indexer"}]
    assert foreign == []


DASHBOARD = ("index.html", "dashboard.js", "dashboard.css", "vendor/chart.umd.min.js", "vendor/chart.js-LICENSE.md")
"""The dashboard's files under indexer/api/static: what `depin-indexer api` serves at / and /static."""


def _chart_js_in_lock() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/chart.js"]["version"]
    return version


def test_the_vendored_chart_js_is_the_npm_package_the_lock_pins() -> None:
    vendored = (ROOT / "indexer/api/static/vendor/chart.umd.min.js").read_bytes()
    assert vendored.startswith(f"/*!\n * Chart.js v{_chart_js_in_lock()}\n".encode()), "package-lock.json moved on"
    installed = ROOT / "node_modules/chart.js/dist/chart.umd.min.js"
    if installed.exists():  # after `npm ci`, as in CI
        assert vendored == installed.read_bytes(), "copy node_modules/chart.js/dist/chart.umd.min.js again"


@pytest.mark.slow
def test_the_wheel_ships_the_dashboard(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    [wheel] = tmp_path.glob("depin_indexer-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = archive.read("indexer/api/static/vendor/chart.umd.min.js")
    missing = {f"indexer/api/static/{name}" for name in DASHBOARD} - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert shipped == (ROOT / "indexer/api/static/vendor/chart.umd.min.js").read_bytes()
    assert not any(n.startswith("node_modules/") for n in names)
