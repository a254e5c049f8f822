"""The lock files against known vulnerabilities: `make audit` (CI runs it) fails on any finding that
`ops/advisories/ignore.yaml` does not list with a reason.

    python -m ops.audit [LOCK ...]                 # default: requirements.lock requirements-dev.lock
    python -m ops.audit refresh --mirror GIT_DIR   # re-vendor the snapshot from a newer advisory-database

Two sources, in this order:
1. `pip-audit --strict`, when its vulnerability service answers. "Answers" is tested, not assumed: pip-audit
   is asked about a pin that is known to be vulnerable (jinja2 2.10), and only a service that names an
   advisory for it is used. Without that test a service that answers with no vulnerability data (as PyPI's
   JSON API did from the build machines) would pass every lock: pip-audit prints "No known vulnerabilities
   found" for a package it could not look up.
2. Otherwise the vendored snapshot of the PyPA advisory database (`ops/advisories/`, OSV format, only the
   locked packages' files), evaluated by `ops/osv.py`. It is as new as its commit date, printed on every run:
   an advisory published after it is not seen until `refresh` brings a newer snapshot.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from packaging.utils import canonicalize_name

from ops.osv import Finding, findings

REPO_ROOT = Path(__file__).resolve().parents[1]
ADVISORIES = REPO_ROOT / "ops" / "advisories"
DEFAULT_LOCKS = (REPO_ROOT / "requirements.lock", REPO_ROOT / "requirements-dev.lock")
CANARY = "jinja2==2.10"  # PYSEC-2019-217 and later; a service that names nothing for it has no data
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def locked_pins(locks: Iterable[Path]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for lock in locks:
        for name, version in PIN.findall(lock.read_text()):
            pins[canonicalize_name(name)] = version
    return pins


def ignored(path: Path = ADVISORIES / "ignore.yaml") -> dict[str, str]:
    """Advisory id to the reason it is accepted; an entry without a reason is refused."""
    entries = (yaml.safe_load(path.read_text()) or []) if path.exists() else []
    unreasoned = [e.get("id", "?") for e in entries if not str(e.get("reason") or "").strip()]
    if unreasoned:
        raise SystemExit(f"{path}: every ignored advisory needs a reason: {', '.join(unreasoned)}")
    return {str(e["id"]): str(e["reason"]).strip() for e in entries}


def snapshot_source(snapshot: Path = ADVISORIES) -> dict[str, str]:
    return yaml.safe_load((snapshot / "SOURCE.yaml").read_text())


def snapshot_advisories(snapshot: Path, names: Iterable[str]) -> list[Mapping]:
    dirs = {canonicalize_name(d.name): d for d in (snapshot / "vulns").iterdir() if d.is_dir()}
    return [
        yaml.safe_load(file.read_text())
        for name in sorted(set(names))
        if name in dirs
        for file in sorted(dirs[name].glob("*.yaml"))
    ]


def pip_audit_service() -> str | None:
    """The pip-audit vulnerability service that names an advisory for the canary, or None."""
    pip_audit = shutil.which("pip-audit")
    if pip_audit is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        canary = Path(tmp) / "canary.txt"
        canary.write_text(CANARY + "\n")
        for service in ("pypi", "osv"):
            run = subprocess.run(
                [pip_audit, "-s", service, "--no-deps", "--disable-pip", "-f", "json", "-r", str(canary)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            try:
                report = json.loads(run.stdout or "{}")
            except json.JSONDecodeError:
                continue
            if any(dep.get("vulns") for dep in report.get("dependencies", [])):
                return service
    return None


def run_pip_audit(service: str, locks: Iterable[Path], ignore: Mapping[str, str]) -> int:
    command = [str(shutil.which("pip-audit")), "--strict", "-s", service, "--disable-pip", "--require-hashes"]
    for lock in locks:
        command += ["-r", str(lock)]
    for advisory_id in ignore:
        command += ["--ignore-vuln", advisory_id]
    return subprocess.run(command).returncode


def report(found: list[Finding], ignore: Mapping[str, str]) -> int:
    def reason(f: Finding) -> str | None:
        return next((ignore[i] for i in (f.id, *f.aliases) if i in ignore), None)

    failing = [f for f in found if reason(f) is None]
    for f in found:
        verdict = "VULNERABLE" if reason(f) is None else f"ignored: {reason(f)}"
        fixed = ", ".join(f.fixed_in) or "no fixed version"
        print(f"{f.id} {f.package}=={f.version} (fixed in {fixed}): {verdict}")
    print(f"{len(found)} finding(s), {len(failing)} not ignored")
    return 1 if failing else 0


def audit(locks: list[Path], snapshot: Path = ADVISORIES, use_pip_audit: bool = True) -> int:
    ignore = ignored(snapshot / "ignore.yaml")
    service = pip_audit_service() if use_pip_audit else None
    if service:
        print(f"audit source: pip-audit, vulnerability service {service!r} (live data)")
        return run_pip_audit(service, locks, ignore)
    source = snapshot_source(snapshot)
    why = "pip-audit's services gave no vulnerability data" if use_pip_audit else "--snapshot-only"
    print(
        f"audit source: vendored advisory snapshot {source['repository']} at {source['commit'][:12]}, "
        f"dated {source['date']} ({why}); advisories published after that date are not seen"
    )
    pins = locked_pins(locks)
    unsearched = sorted(set(pins) - set(source["packages"]))
    if unsearched:
        print(f"the snapshot was not taken for {', '.join(unsearched)}: run `python -m ops.audit refresh` (README)")
        return 1
    advisories = snapshot_advisories(snapshot, pins)
    print(f"{len(pins)} locked packages against {len(advisories)} advisories")
    return report(findings(advisories, pins), ignore)


def refresh(mirror: Path, locks: Iterable[Path], snapshot: Path = ADVISORIES) -> None:
    """Re-vendor `vulns/<package>/*.yaml` for exactly the locked packages from a git mirror's HEAD."""

    git_exe = str(shutil.which("git"))

    def git(*args: str) -> str:
        return subprocess.run([git_exe, "-C", str(mirror), *args], check=True, capture_output=True, text=True).stdout

    commit, date = git("log", "-1", "--format=%H %cI", "HEAD").split()
    available = {
        canonicalize_name(d.split("/", 1)[1]): d for d in git("ls-tree", "--name-only", "HEAD", "vulns/").split()
    }
    shutil.rmtree(snapshot / "vulns", ignore_errors=True)
    names = sorted(locked_pins(locks))
    for name in names:
        if name not in available:
            continue
        for path in git("ls-tree", "--name-only", "HEAD", available[name] + "/").split():
            target = snapshot / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(git("show", f"HEAD:{path}"))
    # every package searched, so a package locked later is refused until the snapshot covers it
    source = {
        "repository": "https://github.com/pypa/advisory-database",
        "commit": commit,
        "date": date,
        "packages": names,
    }
    (snapshot / "SOURCE.yaml").write_text(yaml.safe_dump(source, sort_keys=False))
    print(f"snapshot of {len(list((snapshot / 'vulns').rglob('*.yaml')))} advisories at {commit[:12]} ({date})")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["refresh"]:
        parser = argparse.ArgumentParser(prog="python -m ops.audit refresh")
        parser.add_argument("--mirror", type=Path, required=True, help="a git dir of pypa/advisory-database")
        args = parser.parse_args(argv[1:])
        refresh(args.mirror, list(DEFAULT_LOCKS))
        return 0
    parser = argparse.ArgumentParser(prog="python -m ops.audit")
    parser.add_argument("locks", nargs="*", type=Path, default=list(DEFAULT_LOCKS))
    parser.add_argument("--snapshot-only", action="store_true", help="skip pip-audit, use the vendored snapshot")
    args = parser.parse_args(argv)
    return audit(args.locks, use_pip_audit=not args.snapshot_only)


if __name__ == "__main__":
    sys.exit(main())
