"""What ships: the wheel and the Docker image hold the product, never the dev tools."""

from __future__ import annotations

import email
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY_DISTRIBUTIONS = {"flask", "werkzeug", "honcho"}


def _tree_copy(target: Path) -> Path:
    """The working tree's files as git sees them (no build/ leftovers), copied to `target`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_the_wheel_holds_the_product_and_no_dev_tools(tmp_path: Path) -> None:
    source = _tree_copy(tmp_path / "src")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(source),
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "dist"),
        ],
        check=True,
        cwd=tmp_path,
        timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(metadata_name))
    packages = {name.split("/")[0] for name in names if not name.endswith(".dist-info/")}
    assert {"alerts_saas", "integrations"} <= packages
    assert not [n for n in names if n.startswith(("devtools/", "tests/"))]
    assert not [n for n in names if re.search(r"sandbox|bench", n)], "dev tools in the wheel"
    # The apps' own templates ship with them.
    assert "integrations/pagerduty/templates/pagerduty/integrations.html" in names
    assert "alerts_saas/alerts/templates/alerts/list.html" in names
    required = [
        re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower()
        for r in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in r
    ]
    assert "django" in required
    assert not DEV_ONLY_DISTRIBUTIONS & set(required), required


def test_flask_and_honcho_are_development_extras_only() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"]).lower()
    assert "flask" not in runtime and "honcho" not in runtime
    dev = " ".join(project["optional-dependencies"]["dev"]).lower()
    assert "flask" in dev and "honcho" in dev


def test_the_docker_image_copies_the_product_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    sources = []
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            *copied, _destination = line.split()[1:]
            sources += [s for s in copied if not s.startswith("--")]
    assert sources, "the Dockerfile copies nothing"
    assert "." not in sources, "COPY . would bring devtools/ and tests/ into the image"
    assert not [s for s in sources if s.strip("./").split("/")[0] in {"devtools", "tests"}]
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"devtools", "tests", ".venv", "var"} <= set(ignored)


def test_nothing_reads_outside_the_repository() -> None:
    """A plain clone is enough: no file the project runs names a folder beside it."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    offenders = []
    for name in tracked:
        if not name.endswith((".py", ".sh", ".toml", ".cfg", ".yml", ".yaml")) and name not in {
            "Makefile",
            "Procfile.dev",
            ".ci/run",
            "Dockerfile",
        }:
            continue
        text = (ROOT / name).read_text(errors="replace")
        if re.search(r'\.\./shared|"\.\."\s*/\s*"shared"', text):
            offenders.append(name)
    assert offenders == []


def test_the_docker_image_runs_on_production_settings_unless_told_otherwise() -> None:
    """`docker run` with DJANGO_DEBUG forgotten must not serve debug pages, make up its own
    secrets and send cookies over plain HTTP: the image says production itself."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    env = dockerfile.split("\nENV ", 1)[1].split("\n\n", 1)[0]
    assert "DJANGO_DEBUG=false" in env.split()
