"""The image built for real and run: `scripts/image.sh build` (podman, on a Debian base debootstrapped from the
mirror), then the migrations and the five services as containers from it, as production runs them (ENV=production,
PostgreSQL, generated secrets), on the host's network against the local RabbitMQ and PostgreSQL. Checked: each
container's /readyz and HEALTHCHECK, the image's own `newcitizen health` (HTTP and RPC to every service), an
approval from RPC through the outbox to notify's SMS and stats' count, and `podman stop` within the grace
period. Only `make image-test` runs it (marker `image`); it skips, saying why, where podman cannot run."""

import os
import shutil
import subprocess
import time
import uuid

import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import create_engine, text

from ops.sandbox import SharedBroker
from shared.platform.config import REPO_ROOT, SERVICES
from shared.platform.token_issuer import Issuer
from shared.platform.token_keys import SigningKey
from tests.conftest import POSTGRES_ADMIN_URL, postgres_reachable
from tests.deploy.conftest import secret_variables
from tests.support.residents import application
from tests.support.waiting import wait_for

pytestmark = pytest.mark.image

SCRIPT = REPO_ROOT / "scripts" / "image.sh"
LOGS = REPO_ROOT / "var" / "test"
TAG = "localhost/newcitizen:image-test"
GRACE_SECONDS = 10  # podman stop's default, as `docker stop`'s
FINAL = {"delivered", "permanent-failure", "technical-failure"}


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root: scripts/image.sh uses a root podman store"
    for tool in ("podman", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (`make image-tools` installs it where apt can be used)"
    if not postgres_reachable():
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}"
    return None


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    run = subprocess.run([str(SCRIPT), "podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and run.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {run.returncode}\n{run.stdout}\n{run.stderr}")
    return run


@pytest.fixture(scope="module")
def image():
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / "image-build.log"
    started = time.monotonic()
    with log.open("w") as out:
        built = subprocess.run([str(SCRIPT), "build", TAG], stdout=out, stderr=subprocess.STDOUT)
    assert built.returncode == 0, f"the image did not build; see {log}"
    print(f"\nimage built in {time.monotonic() - started:.0f} s ({log})")
    return TAG


@pytest.fixture(scope="module")
def databases():
    """One throw-away PostgreSQL database per service on the local server."""
    prefix = f"nc_image_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    names = {service: f"{prefix}_{service}" for service in SERVICES}
    with admin.connect() as connection:
        for name in names.values():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    server = POSTGRES_ADMIN_URL.replace("+psycopg", "").rsplit("/", 1)[0]
    try:
        yield {service: f"{server}/{name}" for service, name in names.items()}
    finally:
        with admin.connect() as connection:
            for name in names.values():
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def platform(image, databases, tmp_path_factory):
    """The migrations, then the five services, each a container of the image on its own HTTP port."""
    broker = SharedBroker()
    run_id = uuid.uuid4().hex[:8]
    vhost = f"nc_image_{run_id}"
    broker.create_vhost(vhost)
    issuer = Issuer(SigningKey.generate("image-test"))
    event_keys = {service: SigningKey.generate(f"{service}.image-test") for service in SERVICES}
    ports = {service: find_free_port() for service in SERVICES}
    # the secrets of the providers not in use (SMS and WeChat go to the log) empty, not the development
    # defaults a production start refuses; the ones in use generated below
    env = {
        **{variable: "" for service in SERVICES for variable in secret_variables(service)},
        "AMQP_URI": broker.uri(vhost),
        "JWT_PUBLIC_KEYS": issuer.key.public_setting(),
        "PII_HMAC_KEY": os.urandom(32).hex(),
        "PII_ENCRYPTION_KEY": os.urandom(32).hex(),
        "EVENT_PUBLIC_KEYS": ",".join(key.public_setting() for key in event_keys.values()),
        "OUTBOX_SWEEP_SECONDS": "1",
        "LOG_FORMAT": "json",
    }
    for service in SERVICES:
        env[f"{service.upper()}_DATABASE_URL"] = databases[service]
        env[f"{service.upper()}_HTTP_ADDRESS"] = f"127.0.0.1:{ports[service]}"
    env_dir = tmp_path_factory.mktemp("image")
    env_file = env_dir / "platform.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    for service, key in event_keys.items():  # each service signs its events with a key no other one holds
        (env_dir / f"{service}.env").write_text(f"EVENT_SIGNING_KEY={key.setting()}\n")
    common = ("--network=host", f"--env-file={env_file}")
    names = {service: f"nc-image-{run_id}-{service}" for service in SERVICES}
    try:
        migrated = podman("run", "--rm", *common, image, "migrate", check=False, timeout=300)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        for service in SERVICES:
            own = (f"--env-file={env_dir / service}.env", "-e", f"HTTP_PORT={ports[service]}")
            podman("run", "-d", "--name", names[service], *common, *own, image, service)
        for service in SERVICES:
            wait_for(lambda port=ports[service]: ready(port), timeout=90, what=f"{service}'s /readyz")
        yield {"ports": ports, "names": names, "common": common, "issuer": issuer, "amqp_uri": env["AMQP_URI"]}
    finally:
        for service, name in names.items():
            logs = podman("logs", name, check=False)
            (LOGS / f"image-{service}.log").write_text(logs.stdout + logs.stderr)
            podman("rm", "-f", "-t", "0", name, check=False)
        broker.delete_vhost(vhost)


def ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def test_a_second_build_reuses_the_debootstrapped_base(image):
    """The build above made or reused the tarball; a second `base` runs no debootstrap and imports nothing."""
    again = subprocess.run([str(SCRIPT), "base"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert not [line for line in again.stdout.splitlines() if line.startswith(("debootstrap ", "imported "))]
    tarball = again.stdout.split(" from ")[-1].strip()
    assert tarball.startswith(str(REPO_ROOT / "var" / "cache" / "debootstrap")) or os.environ.get("IMAGE_CACHE_DIR")
    assert "bookworm-minbase-" in tarball and os.path.getsize(tarball) > 0


def test_the_image_runs_debian_python_3_11_as_an_unprivileged_user_under_tini(image):
    probe = podman(
        "run", "--rm", image, "python", "-c", "import os, sys; print(sys.version_info[:2], os.getuid(), os.getppid())"
    )
    assert probe.stdout.split() == ["(3,", "11)", "10001", "1"], probe.stdout  # tini is PID 1, python its child
    pid1 = podman("run", "--rm", image, "cat", "/proc/1/cmdline")
    assert pid1.stdout.split("\0")[:2] == ["/usr/bin/tini", "--"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_container_is_ready_and_healthy(platform, service):
    port = platform["ports"][service]
    assert requests.get(f"http://127.0.0.1:{port}/livez", timeout=5).status_code == 200
    ready_body = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()
    assert {key: ready_body[key] for key in ("service", "status", "db", "broker")} == {
        "service": service,
        "status": "ok",
        "db": "ok",
        "broker": "ok",
    }
    # the image's own HEALTHCHECK command, run by podman in the container
    assert podman("healthcheck", "run", platform["names"][service], check=False).returncode == 0


def test_the_image_s_cli_reaches_every_service_over_http_and_rpc(image, platform):
    health = podman("run", "--rm", *platform["common"], image, "newcitizen", "health", check=False)
    assert health.returncode == 0, health.stdout + health.stderr
    rows = [line for line in health.stdout.splitlines() if any(f" {service} " in line for service in SERVICES)]
    assert len(rows) == len(SERVICES) and all(line.count(" ok ") == 2 for line in rows), health.stdout


def test_an_approval_reaches_notify_and_stats_across_containers(platform):
    issuer, config = platform["issuer"], {"AMQP_URI": platform["amqp_uri"]}

    def proxy(sub: str, role: str) -> ClusterRpcProxy:
        return ClusterRpcProxy(config, context_data={"authorization": issuer.issue(sub, [role])}, timeout=30)

    form = application()
    with proxy("caseworker", "caseworker") as caseworker, proxy("reviewer", "reviewer") as reviewer:
        submitted = caseworker.housing.submit_subsidy_application(form)
        approved = reviewer.housing.review_subsidy_application(submitted["application_id"], "approve")
    assert approved["status"] == "approved", approved
    with proxy("admin", "admin") as admin:
        sms = wait_for(
            lambda: [n for n in admin.notify.list_notifications(phone=form["phone"]) if n["status"] in FINAL],
            timeout=60,
            what="the approval's SMS",
        )
        assert [n["status"] for n in sms] == ["delivered"]
        assert wait_for(lambda: admin.stats.summary()["counters"].get("housing.subsidy_approved") == 1, timeout=60)


def stop(name: str, grace: int = GRACE_SECONDS) -> tuple[float, int]:
    """`podman stop -t grace`: how long it took, and the container's exit code (137 is the SIGKILL at the end
    of the grace period)."""
    started = time.monotonic()
    podman("stop", "-t", str(grace), name, timeout=grace + 60)
    elapsed = time.monotonic() - started
    code = podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip()
    return elapsed, int(code)


@pytest.mark.parametrize("service", SERVICES)
def test_podman_stop_stops_each_service_within_its_grace_period(platform, service):
    elapsed, code = stop(platform["names"][service])
    print(f"\n{service}: stopped in {elapsed:.1f} s, exit {code}")
    assert code != 137 and elapsed < GRACE_SECONDS, f"{service}: exit {code} after {elapsed:.1f} s"


def test_tini_makes_a_command_without_a_sigterm_handler_stop_at_once(image):
    """The fake gateway (a plain Python HTTP server) has no SIGTERM handler: under tini it stops at once; as
    PID 1 itself (the entrypoint without tini) the kernel drops SIGTERM and only the SIGKILL ends it."""
    command = ("python", "-m", "services.notify.fake_gateway", "--callback", "http://127.0.0.1:9", "--port")
    name = f"nc-image-{uuid.uuid4().hex[:8]}"
    try:
        podman("run", "-d", "--network=host", "--name", f"{name}-tini", image, *command, str(find_free_port()))
        podman(
            "run", "-d", "--network=host", "--name", f"{name}-bare", "--entrypoint", "docker-entrypoint.sh",
            image, *command, str(find_free_port()),
        )  # fmt: skip
        elapsed, code = stop(f"{name}-tini")
        assert code != 137 and elapsed < GRACE_SECONDS, f"exit {code} after {elapsed:.1f} s"
        bare_elapsed, bare_code = stop(f"{name}-bare", grace=2)
        print(f"\nfake gateway: under tini stopped in {elapsed:.1f} s (exit {code}); without, {bare_elapsed:.1f} s")
        assert bare_code == 137 and bare_elapsed >= 2, f"without tini: exit {bare_code} after {bare_elapsed:.1f} s"
    finally:
        for suffix in ("tini", "bare"):
            podman("rm", "-f", "-t", "0", f"{name}-{suffix}", check=False)
