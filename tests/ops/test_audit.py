"""`make audit`: the lock files against the vendored advisory snapshot (ops/audit.py, ops/osv.py)."""

import shutil
import subprocess

import pytest
import yaml

from ops.audit import ADVISORIES, DEFAULT_LOCKS, audit, locked_pins, snapshot_source
from ops.osv import affects, fixed_in

LOCK_LINE = "{pin} \\\n    --hash=sha256:{digest}\n    # via requests\n"


def write_lock(path, *pins):
    path.write_text("".join(LOCK_LINE.format(pin=pin, digest="0" * 64) for pin in pins))
    return path


def test_a_lock_with_a_known_vulnerable_pin_fails_naming_the_advisory(tmp_path, capsys):
    lock = write_lock(tmp_path / "requirements.lock", "urllib3==1.26.4", "idna==3.20")
    assert audit([lock], use_pip_audit=False) == 1
    out = capsys.readouterr().out
    assert "PYSEC-2021-108 urllib3==1.26.4 (fixed in 1.26.5): VULNERABLE" in out
    assert "dated 2024-10-10" in out


def test_the_real_locks_pass(capsys):
    assert audit(list(DEFAULT_LOCKS), use_pip_audit=False) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "audit source: vendored advisory snapshot https://github.com/pypa/advisory-database" in out


def test_the_snapshot_covers_every_locked_package_and_only_those():
    locked = set(locked_pins(DEFAULT_LOCKS))
    assert set(snapshot_source()["packages"]) == locked, "run `python -m ops.audit refresh` (ops/advisories)"
    vendored = {d.name for d in (ADVISORIES / "vulns").iterdir()}
    assert vendored <= locked


def test_a_package_locked_after_the_snapshot_was_taken_fails(tmp_path, capsys):
    lock = write_lock(tmp_path / "requirements.lock", "not-in-the-snapshot==1.0")
    assert audit([lock], use_pip_audit=False) == 1
    assert "the snapshot was not taken for not-in-the-snapshot" in capsys.readouterr().out


def snapshot_with_ignore(tmp_path, entries):
    snapshot = tmp_path / "advisories"
    shutil.copytree(ADVISORIES, snapshot)
    (snapshot / "ignore.yaml").write_text(yaml.safe_dump(entries))
    return snapshot


def test_an_ignored_finding_passes_with_its_reason_printed(tmp_path, capsys):
    snapshot = snapshot_with_ignore(
        tmp_path,
        [{"id": advisory, "reason": "test: accepted"} for advisory in ("PYSEC-2021-108", "CVE-2023-43804")]
        + [{"id": "PYSEC-2023-212", "reason": "test: accepted"}],
    )
    lock = write_lock(tmp_path / "requirements.lock", "urllib3==1.26.4")
    assert audit([lock], snapshot=snapshot, use_pip_audit=False) == 0
    out = capsys.readouterr().out
    assert "PYSEC-2023-192 urllib3==1.26.4 (fixed in 1.26.17, 2.0.6): ignored: test: accepted" in out  # by its CVE


def test_an_ignore_entry_without_a_reason_is_refused(tmp_path):
    snapshot = snapshot_with_ignore(tmp_path, [{"id": "PYSEC-2021-108", "reason": " "}])
    lock = write_lock(tmp_path / "requirements.lock", "urllib3==1.26.4")
    with pytest.raises(SystemExit, match="every ignored advisory needs a reason: PYSEC-2021-108"):
        audit([lock], snapshot=snapshot, use_pip_audit=False)


def test_make_audit_prints_its_source_and_passes():
    run = subprocess.run(["make", "--no-print-directory", "audit"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "audit source: " in run.stdout


def advisory(*events, versions=(), withdrawn=None):
    entry = {"package": {"name": "Some_Package", "ecosystem": "PyPI"}, "versions": list(versions)}
    if events:
        entry["ranges"] = [{"type": "ECOSYSTEM", "events": list(events)}]
    return {"id": "TEST-1", "affected": [entry], **({"withdrawn": withdrawn} if withdrawn else {})}


@pytest.mark.parametrize(
    "events, version, affected",
    [
        (({"introduced": "0"}, {"fixed": "1.2"}), "0.0.1", True),
        (({"introduced": "0"}, {"fixed": "1.2"}), "1.1.9", True),
        (({"introduced": "0"}, {"fixed": "1.2"}), "1.2", False),
        (({"introduced": "0"}, {"fixed": "1.2"}), "1.2.0", False),
        (({"introduced": "0"}, {"fixed": "1.2"}), "1.10", False),
        (({"introduced": "0"}, {"fixed": "1.2"}), "1.2rc1", True),
        (({"introduced": "1.5"}, {"last_affected": "1.7"}), "1.7", True),
        (({"introduced": "1.5"}, {"last_affected": "1.7"}), "1.7.1", False),
        (({"introduced": "1.5"}, {"last_affected": "1.7"}), "1.4.9", False),
        (({"introduced": "2.0"},), "1.9", False),
        (({"introduced": "2.0"},), "99.0", True),
        # two ranges in one event list: fixed in 1.26.18 and, on the 2.x line, in 2.0.7
        (({"introduced": "0"}, {"fixed": "1.26.18"}, {"introduced": "2.0.0"}, {"fixed": "2.0.7"}), "1.26.18", False),
        (({"introduced": "0"}, {"fixed": "1.26.18"}, {"introduced": "2.0.0"}, {"fixed": "2.0.7"}), "2.0.6", True),
        (({"introduced": "0"}, {"fixed": "1.26.18"}, {"introduced": "2.0.0"}, {"fixed": "2.0.7"}), "2.0.7", False),
    ],
)
def test_ecosystem_ranges(events, version, affected):
    assert affects(advisory(*events), "some-package", version) is affected


def test_a_listed_version_is_affected_without_a_range_and_names_compare_normalised():
    listed = advisory(versions=["1.0", "not a version"])
    assert affects(listed, "some.package", "1.0.0")
    assert not affects(listed, "some-package", "1.0.1")
    assert not affects(listed, "other-package", "1.0")


def test_a_withdrawn_advisory_affects_nothing_and_fixed_in_lists_every_fix():
    assert not affects(advisory({"introduced": "0"}, withdrawn="2024-01-01T00:00:00Z"), "some-package", "1.0")
    both = advisory({"introduced": "0"}, {"fixed": "1.26.18"}, {"introduced": "2.0.0"}, {"fixed": "2.0.7"})
    assert fixed_in(both, "some-package") == ("1.26.18", "2.0.7")
