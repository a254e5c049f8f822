"""Benchmark: a broadcast to the official account's 112,041 followers, end to end.

    .venv/bin/python bench/notify_broadcast.py [--provider gateway|aliyun|tencent] [--contacts 112041] [--db-url URL]

Starts the fake SMS gateway (rate limit set high so it is not the bottleneck) and the notify service as
processes on a throw-away database and RabbitMQ vhost, writes the contacts, then calls `broadcast` and
polls `get_broadcast` until every message is rendered, recorded, handed to the provider over HTTP (in the
provider's batch: `batch_size`, 100 numbers a call for the gateway and Alibaba's SendBatchSms, 200 for
Tencent's SendSms) and its receipt, pushed in the provider's own format, processed. `--provider aliyun` or
`tencent` sends through that vendor's official SDK to the fake, which checks each call's signature.
Prints a table and a same-run baseline: the provider alone (the same messages sent through the same adapter,
one call at a time, to a second fake that pushes no receipts: no database, no receipt handling) and a bare
bulk insert of the same rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port
from sqlalchemy import insert

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import save  # noqa: E402
from services.notify.models import Contact, Notification, ProviderTemplate  # noqa: E402
from services.notify.providers import Outgoing, build_providers  # noqa: E402
from shared.platform.config import load_service_config  # noqa: E402
from shared.platform.db import make_engine  # noqa: E402
from shared.platform.migrations import upgrade  # noqa: E402
from shared.platform.personal_data import mask_phone  # noqa: E402
from shared.platform.personal_data_provider import PiiTools, keys_from_config  # noqa: E402
from shared.platform.token_issuer import issuer_from_config  # noqa: E402

FOLLOWERS = 112_041
NOTIFY_SERVICE = "services.notify.service:NotifyService"
TARGET_SECONDS = 60
MANAGEMENT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
PROVIDERS = ("gateway", "aliyun", "tencent")
TITLE = "居住证积分办理指南"
TOWNS = ("浒山街道", "宗汉街道", "坎墩街道", "周巷镇", "观海卫镇", "龙山镇", "逍林镇", "长河镇")


def make_vhost() -> str:
    vhost = f"notify-bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(
        f"{MANAGEMENT}/permissions/{vhost}/guest",
        json={"configure": ".*", "write": ".*", "read": ".*"},
        auth=AUTH,
        timeout=10,
    ).raise_for_status()
    return vhost


def contact_rows(count: int, pii: PiiTools) -> list[dict]:
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        phone = f"15{i:09d}"
        rows.append(
            {
                "resident_id": f"r_{i:032x}",
                "phone_encrypted": pii.encrypt(phone),
                "phone_index": pii.index(phone, "phone"),
                "phone_masked": mask_phone(phone),
                "preferred_channel": "sms",
                "promo_consent": True,
                "town": TOWNS[i % len(TOWNS)],
                "category": "frontline_worker",
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout}s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used: unlike the wall clock, barely moved by a loaded machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def provider_settings(provider: str, gateway: str) -> dict:
    """notify's settings (without the NOTIFY_ prefix) that send through `provider` to the fake at `gateway`;
    the vendors' credentials and callback tokens are the development defaults the fake knows."""
    endpoint = {"gateway": "SMS_GATEWAY_URL", "aliyun": "ALIYUN_ENDPOINT", "tencent": "TENCENT_ENDPOINT"}[provider]
    return {"SMS_PROVIDER": provider, endpoint: gateway}


def start_fake(port: int, callback: str, env: dict, receipts: bool = True) -> subprocess.Popen:
    """The fake gateway, its rate limit high enough not to be the bottleneck; with no receipts, none is ever due."""
    delay = "0.2" if receipts else "1e9"
    return subprocess.Popen(
        [sys.executable, "-m", "services.notify.fake_gateway", "--port", str(port), "--callback", callback,
         "--rate", "100000", "--burst", "100000", "--receipt-delay", delay, "--receipt-batch", "1000"],
        cwd=REPO, env=env,
    )  # fmt: skip


def baseline_provider(provider: str, specs: dict, count: int, env: dict) -> float:
    """The same number of messages sent through the same adapter (the official SDK for the vendors), one call
    of `batch_size` at a time, to a fake of its own that pushes no receipts: the provider's path alone."""
    port = find_free_port()
    fake = start_fake(port, "http://127.0.0.1:9", env, receipts=False)
    try:
        wait_http(f"http://127.0.0.1:{port}/test/stats")
        config = {**load_service_config("notify"), **provider_settings(provider, f"http://127.0.0.1:{port}")}
        return send_alone(build_providers(config)["sms"], specs, count)
    finally:
        fake.terminate()
        fake.wait(timeout=10)


def send_alone(provider, specs: dict, count: int) -> float:
    body = f"【慈溪新市民】新市民政策提醒：{TITLE}，详情请关注“我在慈溪”公众号。回T退订"
    started = time.perf_counter()
    for start in range(0, count, provider.batch_size):
        batch = [
            Outgoing(out_id=f"baseline-{i}.1", recipient=f"16{i:09d}", body=body, template_id="policy_notice",
                     personalisation={"title": TITLE}, provider_templates=specs)
            for i in range(start, min(count, start + provider.batch_size))
        ]  # fmt: skip
        refused = [s for s in provider.send(batch) if not s.accepted]
        if refused:
            raise RuntimeError(f"baseline: {len(refused)} refused, e.g. {refused[0].reason}")
    return time.perf_counter() - started


def provider_specs(url: str) -> dict:
    """policy_notice's template code and variables per vendor, as the set-up seeded them."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sqlalchemy.select(ProviderTemplate).where(ProviderTemplate.template_id == "policy_notice")
        ).all()
    engine.dispose()
    latest = max((row.version for row in rows), default=1)
    return {
        row.provider: {"code": row.code, "variables": list(row.variables), "allow_links": row.allow_links}
        for row in rows
        if row.version == latest
    }


def baseline_insert(url: str, rows: list[dict]) -> float:
    upgrade("notify", url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    records = [
        {
            "id": str(uuid.uuid4()), "dedupe_key": f"baseline:{row['resident_id']}", "resident_id": row["resident_id"],
            "channel": "sms", "kind": "promotional", "template_id": "policy_notice", "template_version": 1,
            "personalisation": {}, "body": "x" * 60, "billed_length": 60, "segments": 1,
            "recipient_encrypted": row["phone_encrypted"], "phone_index": row["phone_index"],
            "phone_masked": row["phone_masked"], "status": "delivered", "attempts": 1, "created_at": now,
            "updated_at": now,
        }
        for row in rows
    ]  # fmt: skip
    started = time.perf_counter()
    with engine.begin() as connection:
        for start in range(0, len(records), 2000):
            connection.execute(insert(Notification), records[start : start + 2000])
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below on `timeout`/kill
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--provider", choices=PROVIDERS, default="gateway", help="what notify sends through")
    parser.add_argument("--contacts", type=int, default=FOLLOWERS)
    parser.add_argument("--db-url", help="default: a SQLite file in a temporary directory (the embedded default)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    db_url = args.db_url or f"sqlite:///{workdir / 'notify.db'}"
    notify_port = find_free_port()
    gateway_port = find_free_port()
    while gateway_port == notify_port:  # find_free_port can hand out the same port twice
        gateway_port = find_free_port()
    vhost = make_vhost()
    amqp = f"pyamqp://guest:guest@127.0.0.1:5672/{vhost}"
    config = {"PII_HMAC_KEY": "bench-hmac", "PII_ENCRYPTION_KEY": "bench-enc"}
    pii = PiiTools(keys_from_config(config))
    processes: list[subprocess.Popen] = []
    load_before = os.getloadavg()
    try:
        upgrade("notify", db_url)
        t = time.perf_counter()
        rows = contact_rows(args.contacts, pii)
        engine = make_engine(db_url)
        with engine.begin() as connection:
            for start in range(0, len(rows), 5000):
                connection.execute(insert(Contact), rows[start : start + 5000])
        engine.dispose()
        setup_seconds = time.perf_counter() - t

        gateway = f"http://127.0.0.1:{gateway_port}"
        settings = provider_settings(args.provider, gateway)
        provider_config = {**load_service_config("notify"), **settings}
        batch_size = build_providers(provider_config)["sms"].batch_size
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "AMQP_URI": amqp,
            "NOTIFY_DATABASE_URL": db_url,
            "NOTIFY_HTTP_ADDRESS": f"127.0.0.1:{notify_port}",
            **{f"NOTIFY_{key}": value for key, value in settings.items()},
            "NOTIFY_SMS_RATE_PER_SECOND": "100000",
            "NOTIFY_SMS_BURST": "100000",
            "NOTIFY_QUIET_HOURS": "00:00-00:00",  # measure sending, not the wait for 08:00
            "NOTIFY_DISPATCH_INTERVAL_SECONDS": "0.2",
            "NOTIFY_DELIVERY_SWEEP_SECONDS": "1",
            "LOG_LEVEL": "WARNING",
            **config,
        }
        bin_dir = Path(sys.executable).parent
        processes.append(start_fake(gateway_port, f"http://127.0.0.1:{notify_port}", env))
        notify = subprocess.Popen(
            [str(bin_dir / "nameko"), "run", "--config", "services/notify/config.yaml", NOTIFY_SERVICE],
            cwd=REPO,
            env=env,
        )
        processes.append(notify)
        wait_http(f"{gateway}/test/stats")
        wait_http(f"http://127.0.0.1:{notify_port}/health")

        issuer = issuer_from_config({})  # the dev key, which the bench's services accept by default
        token = issuer.issue("bench-admin", ["admin"])
        checker = issuer.issue("bench-checker", ["admin"])  # a broadcast this large needs a second admin
        rpc_config = {"AMQP_URI": amqp}
        receipts_kind = "sms" if args.provider == "gateway" else args.provider  # the fake's push counter
        print(f"broadcast to {args.contacts:,} contacts on {db_url.split(':')[0]} through {args.provider}"
              f" ({batch_size} numbers a call) …", flush=True)  # fmt: skip
        started = time.perf_counter()
        with ServiceRpcProxy("notify", rpc_config, context_data={"authorization": token}, timeout=60) as rpc:
            broadcast = rpc.broadcast("policy_notice", {"all": True}, {"title": TITLE})
            if broadcast["status"] == "awaiting_approval":
                with ServiceRpcProxy("notify", rpc_config, context_data={"authorization": checker}) as second:
                    second.approve_broadcast(broadcast["id"])
            marks: dict[str, float] = {}
            shown = 0.0
            while True:
                progress = rpc.get_broadcast(broadcast["id"])
                elapsed = time.perf_counter() - started
                by_status = progress["by_status"]
                if "recorded" not in marks and progress["status"] != "recording":
                    marks["recorded"] = elapsed
                if "handed" not in marks and progress["recorded"] == args.contacts and by_status["created"] == 0:
                    marks["handed"] = elapsed
                if progress["status"] == "completed":
                    marks["completed"] = elapsed
                    break
                if elapsed - shown >= 5:
                    shown = elapsed
                    gw = requests.get(f"{gateway}/test/stats", timeout=10).json()
                    print(
                        f"  {elapsed:5.1f} s  recorded {progress['recorded']:,}"
                        f"  {', '.join(f'{k} {v:,}' for k, v in by_status.items() if v)}"
                        f"  | fake: accepted {gw.get('accepted', 0):,}, receipts pushed"
                        f" {gw.get(f'{receipts_kind}_receipts_posted', 0):,},"
                        f" waiting {gw.get('pending_receipts', 0):,}",
                        flush=True,
                    )
                if elapsed > 600:
                    raise RuntimeError(f"not completed in 600 s: {progress}")
                time.sleep(0.25)
        total = marks["completed"]
        stats = requests.get(f"{gateway}/test/stats", timeout=10).json()
        notify_rss = peak_rss_mb(notify.pid)
        cpu = {"notify": cpu_seconds(notify.pid), "fake": cpu_seconds(processes[0].pid)}

        provider_alone = baseline_provider(args.provider, provider_specs(db_url), args.contacts, env)
        insert_alone = baseline_insert(f"sqlite:///{workdir / 'baseline.db'}", rows) if not args.db_url else None

        n = args.contacts
        calls = stats.get("calls", 0) if args.provider == "gateway" else stats.get(f"{args.provider}_calls", 0)
        print()
        print(f"{'phase':<60}{'seconds':>9}{'msgs/s':>10}")
        print("-" * 79)
        print(f"{'contacts written (setup, not timed)':<60}{setup_seconds:>9.1f}{n / setup_seconds:>10,.0f}")
        for label, key in (
            ("rendered + recorded (broadcast rows committed)", "recorded"),
            (f"handed to {args.provider} (none left 'created')", "handed"),
            ("end to end: every receipt processed", "completed"),
        ):
            print(f"{label:<60}{marks[key]:>9.1f}{n / marks[key]:>10,.0f}")
        print("-" * 79)
        baselines = [(f"baseline: {args.provider} alone (adapter to a fake, no receipts)", provider_alone)]
        if insert_alone is not None:
            baselines.append(("baseline: bare bulk insert of the same rows", insert_alone))
        for label, seconds in baselines:
            print(f"{label:<60}{seconds:>9.1f}{n / seconds:>10,.0f}")
        print()
        delivered = progress["by_status"]["delivered"]
        print(
            f"delivered {delivered:,} of {n:,}; the fake accepted {stats.get('accepted', 0):,}"
            f" in {calls:,} calls ({batch_size} numbers a call),"
            f" duplicates {stats.get('duplicates', 0)}, 429s {stats.get('throttled_calls', 0)}"
        )
        print(f"CPU used to completion: notify {cpu['notify']:.1f} s, the fake {cpu['fake']:.1f} s"
              f" ({n / cpu['notify']:,.0f} msgs per notify CPU second)")  # fmt: skip
        print(f"notify peak RSS {notify_rss:,.0f} MB; load average before {load_before[0]:.2f}, after"
              f" {os.getloadavg()[0]:.2f}; target ≤ {TARGET_SECONDS} s: "
              f"{'met' if total <= TARGET_SECONDS else 'NOT met'} ({total:.1f} s)")  # fmt: skip
        out = save(
            f"notify_broadcast_{args.provider}",
            {
                "provider": args.provider, "contacts": n, "database": db_url.split(":")[0], "batch_size": batch_size,
                "calls": calls, "seconds": marks, "baseline_provider_seconds": provider_alone,
                "baseline_insert_seconds": insert_alone, "delivered": delivered, "peak_rss_mb": notify_rss,
                "cpu_seconds": cpu,
                "load_average_before": load_before, "load_average_after": os.getloadavg(),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )  # fmt: skip
        print(f"written to {out}")
        return 0 if delivered == n else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        requests.delete(f"{MANAGEMENT}/vhosts/{vhost}", auth=AUTH, timeout=10)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
