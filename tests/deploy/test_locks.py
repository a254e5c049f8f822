"""The lock files are a tool's output (`make lock`: uv pip compile --generate-hashes) and agree with each
other, with pyproject.toml and with what installs them."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")
DEV_TOOLS = {
    "pytest",
    "pytest-timeout",
    "pytest-randomly",
    "hypothesis",
    "ruff",
    "kubernetes-validate",
    "jsonschema",
    "uv",
    "pip-audit",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name: str) -> dict[str, str]:
    """{package: version}; every pin is followed by at least one sha256 hash."""
    lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
    found = {}
    for index, line in enumerate(lines):
        if match := PIN.match(line):
            assert lines[index + 1].strip().startswith("--hash=sha256:"), line
            found[canonical(match[1])] = match[2]
        else:
            assert not line or line.startswith((" ", "#")), f"{name}: {line!r} is not a hashed pin"
    return found


def requirement_names(requirements: list[str]) -> set[str]:
    return {canonical(re.split(r"[<>=!~; \[]", requirement, maxsplit=1)[0]) for requirement in requirements}


def test_both_locks_are_made_by_make_lock_and_hashed():
    for name in ("requirements.lock", "requirements-dev.lock"):
        assert "#    make lock" in (ROOT / name).read_text(encoding="utf-8").splitlines()[1]
        assert pins(name)


def test_the_dev_lock_pins_the_runtime_exactly_as_the_runtime_lock():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert not DEV_TOOLS & set(runtime)  # the image installs no test or lint tool
    assert DEV_TOOLS <= set(dev)


def test_every_dependency_of_pyproject_is_locked():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert requirement_names(project["dependencies"]) <= set(pins("requirements.lock"))
    assert requirement_names(project["optional-dependencies"]["dev"]) == DEV_TOOLS


def test_what_installs_them_checks_the_hashes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock" in makefile
    assert re.search(r"^lock: ", makefile, re.M)
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r /tmp/requirements.lock" in dockerfile
