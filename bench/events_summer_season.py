"""Generate a 小候鸟 summer season through the events service and print its figures beside the seed's.

    PYTHONPATH=. .venv/bin/python bench/events_summer_season.py [--scale 1.0] [--db URL] [--amqp URI] [--seed N]
                                                               [--stats | --sandbox]

The real EventsService runs in this process (its entrypoints called directly, its outbox relaying events
to the broker at --amqp) with a simulated clock, so a whole summer (registration in June, attendance day by
day in July and August, closing in September) runs in minutes. Run it against the broker and vhost where
stats listens to see the season in the stats report; stop any other events service on that vhost first
(this one also consumes the `rpc-events` queue while it runs). With `--stats` the run then waits for stats to
fold every attendance and prints stats' own figures beside the service's. `--sandbox` (what `make
bench-events` runs) does all of that on a throw-away platform: the other four services as processes on their
own vhost, this events service in their place.

The 2024 seed: 320 summer activities, 16,000+ 小候鸟 participations (人次), 300 children trained in
drowning prevention. The figures printed come from the service's own records and events.
"""

from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

from nameko.containers import ServiceContainer  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from nameko.testing.services import entrypoint_hook, replace_dependencies  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from services.events import models as m  # noqa: E402
from services.events.service import EventsService  # noqa: E402
from shared.cixi.towns import TOWNS  # noqa: E402
from shared.platform.config import load_service_config  # noqa: E402
from shared.platform.db import make_engine  # noqa: E402
from shared.platform.migrations import upgrade  # noqa: E402
from shared.platform.models import OutboxMessage  # noqa: E402
from shared.platform.token_issuer import issuer_from_config  # noqa: E402

LOCAL_OFFSET = timedelta(hours=8)
SEASON_YEAR = 2024
SEED_ACTIVITIES, SEED_PARTICIPATIONS, SEED_DROWNING_CHILDREN = 320, 16_000, 300
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
HOME_AREAS = (
    "522401",
    "412723",
    "362424",
    "511623",
    "430524",
    "341221",
    "500228",
    "330282",
)  # where families come from


class SimClock:
    def __init__(self, now: datetime):
        self.current = now

    def now(self) -> datetime:
        return self.current


def make_id(born: date, sequence: int, area: str) -> str:
    first17 = f"{area}{born:%Y%m%d}{sequence % 1000:03d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - LOCAL_OFFSET


class Family:
    def __init__(self, rng: random.Random, number: int):
        area = rng.choice(HOME_AREAS)
        self.parent = make_id(date(rng.randint(1978, 1994), rng.randint(1, 12), rng.randint(1, 28)), number, area)
        self.children = [
            make_id(date(rng.randint(2012, 2020), rng.randint(1, 12), rng.randint(1, 28)), number + k + 1, area)
            for k in range(1 if rng.random() < 0.7 else 2)
        ]


def plan_season(rng: random.Random, scale: float, venues: list[dict]) -> list[dict]:
    """Activities from 1 July to 30 August 2024: multi-day classes, story hours, workshops, talks, outings."""
    plan = []
    weekdays = [date(2024, 7, 1) + timedelta(days=n) for n in range(61)]
    for n in range(round(40 * scale)):  # 5-day 小候鸟 holiday-school classes, Monday to Friday
        monday = date(2024, 7, 1) + timedelta(weeks=n % 8)
        plan.append(("summer_class", "暑期假日学校·小候鸟课堂", monday, 5, 30, (6, 12)))
    for _ in range(round(6 * scale)):  # drowning-prevention talks in six towns' holiday schools
        plan.append(("drowning_prevention", "小候鸟防溺水专项宣讲", rng.choice(weekdays), 1, 55, (6, 14)))
    others = (
        ("story_hour", "童乐故事会", 40, (3, 8)),
        ("workshop", "图图工场", 30, (6, 12)),
        ("lecture", "研学讲座", 45, (8, 15)),
        ("exhibition", "观影与展览", 50, (5, 15)),
    )
    for n in range(round(SEED_ACTIVITIES * scale) - len(plan)):
        kind, title, capacity, ages = others[n % len(others)]
        plan.append((kind, title, rng.choice(weekdays), 1, capacity, ages))
    activities = []
    for index, (kind, title, first_day, days, capacity, (low, high)) in enumerate(plan):
        venue = venues[index % len(venues)]
        activities.append(
            {
                "title": f"{title}（{index + 1}）",
                "kind": kind,
                "venue_id": venue["id"],
                "starts_at": local(first_day, 9).isoformat(),
                "ends_at": local(first_day + timedelta(days=days - 1), 16).isoformat(),
                "capacity": capacity,
                "min_age": low,
                "max_age": high,
                "days": days,
            }
        )
    return activities


def run(args) -> dict:
    logging.getLogger("nameko").setLevel(logging.CRITICAL)  # refusals (full, too young) are expected here
    rng = random.Random(args.seed)
    config = load_service_config("events")
    config["DATABASE_URL"] = args.db
    if args.amqp:
        config["AMQP_URI"] = args.amqp
    for key in ("HOLD_SWEEP_SECONDS", "REMINDER_SWEEP_SECONDS", "CLOSE_SWEEP_SECONDS"):
        config[key] = 10**6  # driven below, on the simulated clock
    if args.db.startswith("sqlite:///"):
        Path(args.db[len("sqlite:///") :]).unlink(missing_ok=True)
    upgrade("events", args.db)
    clock = SimClock(local(date(2024, 6, 1), 9))
    container = ServiceContainer(EventsService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    token = bench_issuer(config).issue("bench-caseworker", ["caseworker"])
    timings: Counter = Counter()
    counts: Counter = Counter()

    def call(name, *call_args):
        started = time.perf_counter()
        with entrypoint_hook(container, name, context_data={"authorization": token}) as hook:
            try:
                return hook(*call_args)
            except Exception as exc:  # domain refusals are part of a season (full, already registered...)
                counts[f"refused:{type(exc).__name__}"] += 1
                return None
            finally:
                timings[name] += time.perf_counter() - started
                counts[f"calls:{name}"] += 1

    try:
        began = time.perf_counter()
        for _ in range(200):
            call("health")
        baseline_per_call = timings["health"] / 200
        venues = [
            call("create_venue", {"name": f"{town.name}图书馆分馆", "kind": "town_branch", "town": town.name})
            for town in TOWNS[:17]
        ]
        venues.append(
            call("create_venue", {"name": "慈溪市少年儿童图书馆", "kind": "children_library", "town": "浒山"})
        )
        activities = [
            (plan, call("create_activity", {k: v for k, v in plan.items() if k != "days"}))
            for plan in plan_season(rng, args.scale, venues)
        ]
        families = [Family(rng, n * 3) for n in range(round(9000 * args.scale))]
        registrations: dict[str, list[dict]] = {}
        for _plan, activity in activities:  # June: families register, ~110 % of capacity in children
            demand = round(activity["capacity"] * rng.uniform(0.9, 1.25))
            regs, seats = [], 0
            for family in rng.sample(families, k=min(len(families), 3 * demand)):
                if seats >= demand:
                    break
                reg = call(
                    "register",
                    {
                        "activity_id": activity["id"],
                        "id_number": family.parent,
                        "children": family.children,
                        "registrant_attends": False,
                    },
                )
                if reg:
                    regs.append(reg)
                    seats += reg["seats"]
            registrations[activity["id"]] = regs
            clock.current += timedelta(seconds=30)
        clock.current = local(date(2024, 6, 25), 9)
        for regs in registrations.values():  # a few drop out; their seats are offered and mostly taken up
            for reg in [r for r in regs if r["status"] == "confirmed" and rng.random() < 0.05]:
                call("cancel_registration", reg["id"])
        for reg in [r for regs in registrations.values() for r in regs]:
            current = call("get_registration", reg["id"])
            if current and current["status"] == "offered" and rng.random() < 0.8:
                call("accept_offer", reg["id"])
        clock.current = local(date(2024, 6, 27), 9)
        call("expire_holds")
        for plan, activity in sorted(activities, key=lambda pair: pair[1]["starts_at"]):  # July-August
            confirmed = [
                p for r in (call("list_registrations", activity["id"], "confirmed") or []) for p in r["participants"]
            ]
            first = datetime.fromisoformat(activity["starts_at"])
            for day in range(plan["days"]):
                clock.current = first + timedelta(days=day, minutes=5)
                for participant in confirmed:
                    if rng.random() < 0.95:
                        call("check_in", activity["id"], {"participant_id": participant["participant_id"]})
                clock.current = first + timedelta(days=day, hours=6, minutes=50)
        clock.current = local(date(2024, 9, 1), 9)
        call("close_ended_activities")
        elapsed = time.perf_counter() - began
        eventlet.sleep(2)  # let the relay publish the last rows
    finally:
        container.stop()
    engine = make_engine(args.db)
    with engine.connect() as connection:
        participations = connection.scalar(select(func.count()).select_from(m.Attendance))
        children = connection.scalar(
            select(func.count(func.distinct(m.Participant.resident_id))).join(
                m.Attendance, m.Attendance.participant_id == m.Participant.id
            )
        )
        drowning = connection.scalar(
            select(func.count(func.distinct(m.Participant.resident_id)))
            .join(m.Attendance, m.Attendance.participant_id == m.Participant.id)
            .join(m.Activity, m.Activity.id == m.Participant.activity_id)
            .where(m.Activity.kind == "drowning_prevention")
        )
        statuses = dict(
            connection.execute(select(m.Registration.status, func.count()).group_by(m.Registration.status)).all()
        )
        events = dict(
            connection.execute(
                select(OutboxMessage.routing_key, func.count()).group_by(OutboxMessage.routing_key)
            ).all()
        )
        unpublished = connection.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
        completed = connection.scalar(
            select(func.count()).select_from(m.Activity).where(m.Activity.status == "completed")
        )
        over = connection.scalar(
            select(func.count()).select_from(m.Activity).where(m.Activity.seats_taken > m.Activity.capacity)
        )
    engine.dispose()
    event_participations = participations  # one attendance_recorded check-in per attendance row
    return {
        "activities": len(activities),
        "completed": completed,
        "registrations": sum(statuses.values()),
        "statuses": statuses,
        "participations": participations,
        "event_participations": event_participations,
        "children": children,
        "drowning_children": drowning,
        "events": events,
        "unpublished": unpublished,
        "over_capacity": over,
        "elapsed": elapsed,
        "timings": {name: timings[name] / counts[f"calls:{name}"] for name in ("register", "check_in")},
        "baseline_per_call": baseline_per_call,
        "refused": {k.split(":", 1)[1]: v for k, v in counts.items() if k.startswith("refused:")},
    }


def stats_figures(amqp_uri: str, token: str, participations: int, timeout: float = 600) -> dict:
    """Stats' view of the 2024 season, once it has folded every check-in the season recorded."""
    config = {"AMQP_URI": amqp_uri}
    with ClusterRpcProxy(config, context_data={"authorization": token}, timeout=60) as rpc:
        deadline = time.monotonic() + timeout
        while True:
            summary = rpc.stats.summary(year=SEASON_YEAR)
            if summary["participations"] >= participations or time.monotonic() > deadline:
                break
            time.sleep(1)
        report = rpc.stats.report(SEASON_YEAR, SEASON_YEAR)
    counters = summary["counters"]
    by_kind = summary["by_category"]
    return {
        "participations": summary["participations"],
        "drowning_participations": by_kind.get("drowning_prevention", {}).get("participations", 0),
        "activities_completed": counters.get("events.activity_completed", 0),
        "registrations_confirmed": counters.get("events.registration_confirmed", 0),
        "check_ins": counters.get("events.attendance_recorded", 0),
        "report_text": report["text"],
    }


def bench_issuer(config: dict):
    """The issuer of the environment's JWT_PRIVATE_KEY (a sandbox's), else the dev key the config accepts."""
    return issuer_from_config({**config, "JWT_PRIVATE_KEY": os.environ.get("JWT_PRIVATE_KEY", "")})


def run_in_sandbox(args) -> dict:
    import tempfile

    from ops.launcher import stop_service
    from ops.sandbox import running_platform

    with tempfile.TemporaryDirectory(prefix="nc_season_") as tmp, running_platform(Path(tmp)) as platform:
        stop_service("events", platform.run_dir)  # this process serves events on the platform's vhost instead
        os.environ.update({**platform.env, **platform.issuer_env})
        args.amqp = platform.amqp_uri
        result = run(args)
        token = platform.token("bench-reader", "admin")
        result["stats"] = stats_figures(platform.amqp_uri, token, result["participations"])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = the seed's 320 activities")
    parser.add_argument("--db", default="sqlite:///var/bench_events_season.db")
    parser.add_argument("--amqp", default=None, help="default: the events config's AMQP_URI")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stats", action="store_true", help="then wait for stats and print its figures too")
    parser.add_argument("--sandbox", action="store_true", help="run against a throw-away platform, with --stats")
    args = parser.parse_args(argv)
    if args.sandbox:
        result = run_in_sandbox(args)
    else:
        result = run(args)
    if args.stats and not args.sandbox:
        config = load_service_config("events")
        token = bench_issuer(config).issue("bench-reader", ["admin"])
        result["stats"] = stats_figures(args.amqp or config["AMQP_URI"], token, result["participations"])
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return 0
    scale = args.scale
    rows = [
        ("activities (completed)", f"{result['activities']} ({result['completed']})", f"{SEED_ACTIVITIES * scale:.0f}"),
        ("participations 人次", result["participations"], f"{SEED_PARTICIPATIONS * scale:,.0f}+"),
        ("distinct children", result["children"], "-"),
        ("drowning-prevention children", result["drowning_children"], f"{SEED_DROWNING_CHILDREN * scale:.0f}"),
        ("registrations", result["registrations"], "-"),
        ("  by status", ", ".join(f"{k} {v}" for k, v in sorted(result["statuses"].items())), "-"),
        ("activities over capacity", result["over_capacity"], "0"),
        ("events written (unpublished)", f"{sum(result['events'].values())} ({result['unpublished']})", "-"),
        ("register, ms per call", f"{result['timings']['register'] * 1000:.1f}", "-"),
        ("check_in, ms per call", f"{result['timings']['check_in'] * 1000:.1f}", "-"),
        ("baseline: health, ms per call", f"{result['baseline_per_call'] * 1000:.2f}", "-"),
        ("season generated in, s", f"{result['elapsed']:.0f}", "-"),
    ]
    print(f"{'figure':32} {'this run':>44} {'seed 2024':>12}")
    for name, value, seed in rows:
        print(f"{name:32} {str(value):>44} {seed:>12}")
    if "stats" in result:
        folded = result["stats"]
        print()
        print(f"{'in the stats report':32} {'stats':>44} {'events':>12}")
        for name, stats_value, events_value in (
            ("participations 人次", folded["participations"], result["participations"]),
            ("activities completed", folded["activities_completed"], result["completed"]),
        ):
            print(f"{name:32} {stats_value:>44} {events_value:>12}")
        print(folded["report_text"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
