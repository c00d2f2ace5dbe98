"""Packaging: what the wheel carries, and every import declared.

The wheel itself is built, installed outside the clone and run by ``.ci/run``; these checks are the
fast part: the package list in pyproject.toml against the folders of ``miakit/``, miakit's own
pipelines and profiles found in an installed layout (the package-dir mapping, applied by hand), and
every third-party import of the code, tests, benchmarks and notebooks against the dependencies.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_every_folder_of_the_package_is_in_the_wheel():
    folders = {
        ".".join(p.relative_to(REPO).parts)
        for p in [REPO / "miakit", *(REPO / "miakit").rglob("*")]
        if p.is_dir() and p.name != "__pycache__" and any(f.suffix in (".py", ".yaml") for f in p.iterdir())
    }
    listed = set(SETUPTOOLS["packages"])
    mapped = SETUPTOOLS["package-dir"]
    assert folders | set(mapped) == listed, (
        "pyproject.toml [tool.setuptools] packages: add "
        f"{sorted(folders - listed)}, drop {sorted(listed - folders - set(mapped))}"
    )
    assert {f"miakit.{name}": name for name in ("pipelines", "recorders")} == mapped
    for package, folder in mapped.items():
        assert sorted((REPO / folder).glob("*.yaml")), folder
        assert SETUPTOOLS["package-data"][package] == ["*.yaml"]


def test_an_installed_miakit_finds_its_own_pipelines_and_profiles(tmp_path):
    """The wheel's layout (miakit/pipelines, miakit/recorders: pyproject's package-dir mapping), run
    from a folder that has none of its own."""
    site = tmp_path / "site-packages"
    shutil.copytree(REPO / "miakit", site / "miakit", ignore=shutil.ignore_patterns("__pycache__"))
    for package, folder in SETUPTOOLS["package-dir"].items():
        shutil.copytree(REPO / folder, site.joinpath(*package.split(".")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import json, miakit\n"
        "from miakit.pipeline import load_pipeline, pipeline_search_path\n"
        "from miakit.devices.profiles import load_profile, profile_search_path\n"
        "print(json.dumps([miakit.__file__, str(pipeline_search_path()[-1]), str(profile_search_path()[-1]),\n"
        "                  load_pipeline('emg-only').path, str(load_profile('m40').path)]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("MIAKIT_PIPELINES", "MIAKIT_RECORDERS")}
    env["PYTHONPATH"] = str(site)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    module, pipelines, recorders, pipeline, profile = json.loads(proc.stdout.splitlines()[-1])
    assert Path(module) == site / "miakit" / "__init__.py"
    assert (Path(pipelines), Path(recorders)) == (site / "miakit" / "pipelines", site / "miakit" / "recorders")
    assert Path(pipeline) == site / "miakit" / "pipelines" / "emg-only.yaml"
    assert Path(profile) == site / "miakit" / "recorders" / "m40.yaml"


def test_in_the_clone_the_top_level_folders_are_miakits_own():
    from miakit.resources import shipped_folder

    assert shipped_folder("pipelines") == REPO / "pipelines"
    assert shipped_folder("recorders") == REPO / "recorders"


def _imports(source: str) -> set[str]:
    """Top-level module names a Python source imports (``pytest.importorskip("x")`` too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "importorskip" and node.args:
            if isinstance(node.args[0], ast.Constant):
                names.add(str(node.args[0].value).split(".")[0])
    return names


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_import_is_a_declared_dependency():
    sources = [
        p.read_text()
        for folder in ("miakit", "tests", "benchmarks", "notebooks")
        for p in (REPO / folder).rglob("*.py")
    ]
    for notebook in (REPO / "notebooks").glob("*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                sources.append(
                    "\n".join(
                        line
                        for line in "".join(cell["source"]).splitlines()
                        if not line.lstrip().startswith(("%", "!"))
                    )
                )
    ours = (
        {"miakit"}
        | {p.stem for p in (REPO / "tests").rglob("*.py")}
        | {p.stem for p in (REPO / "notebooks").glob("*.py")}
        | {p.stem for p in (REPO / "benchmarks").glob("*.py")}  # tests that run a benchmark import it
    )
    # tests/unit/live/rtsp_server.py runs under Debian's own Python (/usr/bin/python3), whose GStreamer
    # bindings (gi, apt's python3-gi) .ci/run installs: no requirement of this project's environment.
    system_python = {"gi"}
    imported = (
        set().union(*map(_imports, sources)) - set(sys.stdlib_module_names) - ours - {"__future__"} - system_python
    )
    requirements = PYPROJECT["project"]["dependencies"] + [
        r for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra
    ]
    declared = {_canonical(re.match(r"[A-Za-z0-9_.-]+", r).group()) for r in requirements}
    distributions = packages_distributions()
    missing = {}
    for module in sorted(imported):
        # An optional extra that is not installed here (opensim outside `[physics]`) is known only by
        # its import name; it counts as declared when that name is a declared requirement.
        names = {_canonical(d) for d in distributions.get(module, [])} or {_canonical(module)}
        if not names & declared:
            missing[module] = sorted(names) if module in distributions else "not installed"
    assert not missing, f"imported but not declared in pyproject.toml (module: distributions): {missing}"
