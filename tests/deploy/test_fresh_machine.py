"""What a fresh Debian machine needs, as README.md says: `make run` needs RabbitMQ's AMQP port only, the test
and bench targets its management API too, and the broker script finds Debian's RabbitMQ tools in /usr/sbin."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def prerequisites(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = re.search(rf"^{re.escape(target)}:([^#\n]*)", makefile, re.M).group(1)
    return line.split()


def test_run_needs_only_amqp_and_the_tests_need_the_management_api():
    for target in ("setup", "topology"):
        assert "broker-amqp" in prerequisites(target) and "broker" not in prerequisites(target), target
    assert "setup" in prerequisites("run") and "setup" in prerequisites("start")
    for target in ("test", "test-clock", "test-random", "test-reverse", "test-fast", "test-faults", "bench"):
        assert "broker" in prerequisites(target), target


def test_the_broker_script_searches_sbin_and_checks_management_only_when_asked():
    script = (ROOT / "scripts" / "ensure_broker.sh").read_text(encoding="utf-8")
    assert 'export PATH="$PATH:/usr/sbin:' in script
    plain = subprocess.run([ROOT / "scripts" / "ensure_broker.sh"], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and plain.stdout.strip().endswith("RabbitMQ is up (amqp 5672)"), plain.stderr
    full = subprocess.run(
        [ROOT / "scripts" / "ensure_broker.sh", "--management"], capture_output=True, text=True, timeout=120
    )
    assert full.returncode == 0 and "management 15672" in full.stdout, full.stderr


def test_the_readme_names_every_prerequisite():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for package in ("make", "python3.11-venv", "rabbitmq-server"):
        assert re.search(rf"apt-get install [^\n]*\b{re.escape(package)}\b", readme), package


def test_make_names_the_missing_venv_module():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "apt-get install python3.11-venv" in makefile
