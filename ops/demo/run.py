"""Drive the running platform through its RPC APIs (never its databases) to build the demo history.

Steps, each safe to repeat (a re-run creates nothing twice):
1. 7,044 rent-subsidy households decided 2019–2024, imported as legacy cases on their decision dates;
2. every month's disbursement 2019-01 … 2024-12, recorded as history (`backfill`);
3. 34 affordable-rental projects with 6,622 units, 85 % let to tenants, assessed for 2024's operator
   subsidy and approved by a second reviewer;
4. the rest of the 48,888 units raised 2021–2024, the 2025 stock plan and operator-subsidy forecast;
5. the venue register, the volunteer teams and their 2024 services, the 2024 summer season and the 2025
   harmony day (back-entered), the care visits, the drowning-prevention talks, the 2025 guide, the 2024
   市民幸福体验日 (an open event, the series' 8th), the account's 125 posts of 2024 and its follower counts;
6. the stats report for 2019–2025, checked figure by figure against the seed (`document.py`), and
   stats' `rebuild()`, which must agree with the live figures.

`--scale 0.02` builds a slice of steps 1–3 (every year and step, fewer households and units), as the
end-to-end test does; steps 4–5 are always whole (they are a few hundred calls).
"""

from __future__ import annotations

import argparse
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from nameko.exceptions import RemoteError  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402

from ops.demo import counted, document, plan  # noqa: E402
from ops.settings import Settings  # noqa: E402

ROLES = {
    "admin": ("demo-admin", ("admin",)),
    "caseworker": ("demo-caseworker", ("caseworker",)),
    "reviewer": ("demo-reviewer", ("reviewer",)),
    "reviewer2": ("demo-reviewer-2", ("reviewer",)),
}
RPC_TIMEOUT = 600


class Callers:
    """One proxy per role for one worker greenlet (a standalone proxy is not shared between greenlets)."""

    def __init__(self, settings: Settings):
        self.proxies = {
            role: ClusterRpcProxy(
                settings.rpc_config(),
                timeout=RPC_TIMEOUT,
                context_data={"authorization": settings.token(sub, roles, 6 * 3600)},
            )
            for role, (sub, roles) in ROLES.items()
        }
        self.started = {role: proxy.start() for role, proxy in self.proxies.items()}

    def __getitem__(self, role: str):
        return self.started[role]

    def stop(self):
        for proxy in self.proxies.values():
            proxy.stop()


def in_parallel(settings: Settings, items, work, progress: Progress, label: str, concurrency: int) -> list:
    task = progress.add_task(label, total=len(items))
    queue = eventlet.queue.LightQueue()
    for item in items:
        queue.put(item)
    results: list = []

    def worker():
        callers = Callers(settings)
        try:
            while True:
                try:
                    item = queue.get_nowait()
                except eventlet.queue.Empty:
                    return
                results.append(work(callers, item))
                progress.advance(task)
        finally:
            callers.stop()

    pool = eventlet.GreenPool(concurrency)
    for _ in range(concurrency):
        pool.spawn(worker)
    pool.waitall()
    return results


def import_households(settings, callers, households, progress, concurrency) -> int:
    first, last = households[0], households[-1]
    exists = [
        bool(callers["caseworker"].housing.find_subsidy_applications(id_number=h.id_number)["items"])
        for h in (first, last)
    ]
    if all(exists):
        progress.console.print("households: already imported")
        return 0
    check = any(exists)  # a run stopped half-way: look each one up

    def one(call, household):
        if check and call["caseworker"].housing.find_subsidy_applications(id_number=household.id_number)["items"]:
            return 0
        case = call["admin"].housing.import_legacy_subsidy(household.application(), household.decided_on.isoformat())
        if case["status"] != "approved" or case["monthly_subsidy_fen"] != household.monthly_fen:
            raise RuntimeError(
                f"household {household.index}: housing answered {case['status']} "
                f"{case.get('monthly_subsidy_fen')}, the plan says {household.monthly_fen}"
            )
        return 1

    return sum(in_parallel(settings, households, one, progress, "households 2019–2024", concurrency))


def periods() -> list[str]:
    return [f"{year}-{month:02d}" for year in range(2019, 2025) for month in range(1, 13)]


def disburse(callers, progress) -> tuple[int, int]:
    task = progress.add_task("disbursements 2019-01 … 2024-12", total=len(periods()))
    paid = total = 0
    for period in periods():
        result = callers["admin"].housing.run_disbursement(period, backfill=True)
        paid += result["paid"]
        total += result["total_fen"]
        progress.advance(task)
    return paid, total


def build_projects(settings, callers, projects, progress, concurrency) -> None:
    existing = {p["name"]: p for p in callers["caseworker"].housing.list_projects()}
    for project in projects:
        if project.name not in existing:
            created = callers["caseworker"].housing.create_project(
                {
                    "name": project.name,
                    "operator": project.operator,
                    "town": project.town,
                    "kind": "conversion",
                    "year_raised": 2023,
                    "planned_units": len(project.units),  # the units it raises (筹建), all listed below
                }
            )
            existing[project.name] = created
    ids = {name: p["project_id"] for name, p in existing.items()}

    listed = {
        project.name: {u["unit_no"] for u in callers["caseworker"].housing.list_units(ids[project.name])}
        for project in projects
    }
    missing = [
        (project, unit) for project in projects for unit in project.units if unit["unit_no"] not in listed[project.name]
    ]

    def list_unit(call, item):
        project, unit = item
        call["caseworker"].housing.list_unit(ids[project.name], unit)

    in_parallel(settings, missing, list_unit, progress, "affordable-rental units", concurrency)

    let_now = {
        project.name: len(callers["caseworker"].housing.list_units(ids[project.name], "let")) for project in projects
    }
    people = plan.tenants(sum(p.let for p in projects))  # project k's tenants follow those of projects < k
    first = {project.name: sum(q.let for q in projects[: project.index]) for project in projects}
    jobs = [
        (project, n, people[first[project.name] + n])
        for project in projects
        for n in range(let_now[project.name], project.let)
    ]

    def let_unit(call, job):
        project, n, person = job
        try:
            application = call["caseworker"].housing.submit_tenancy_application(person)
        except RemoteError as error:
            if error.exc_type != "DuplicateApplication":
                raise
            return
        month = 1 + n % 12
        call["reviewer"].housing.allocate_unit(
            application["application_id"], ids[project.name], None, f"2024-{month:02d}-01"
        )

    in_parallel(settings, jobs, let_unit, progress, "tenancies", concurrency)
    assess(callers, [ids[p.name] for p in projects], progress)


def assess(callers, project_ids, progress) -> None:
    task = progress.add_task("operator subsidies 2024", total=len(project_ids))
    for project_id in project_ids:
        try:
            assessment = callers["caseworker"].housing.assess_operator_subsidy(project_id, 2024)
        except RemoteError as error:
            if error.exc_type != "AssessmentExists":
                raise
            progress.advance(task)
            continue
        if assessment["status"] == "assessed":
            callers["reviewer2"].housing.review_operator_subsidy(assessment["assessment_id"], "approve")
        progress.advance(task)


def raise_stock(callers, listed_units: int, progress) -> None:
    """Step 4: the projects that make up the rest of the stock, then the 2025 plans (each once)."""
    housing = callers["caseworker"].housing
    existing = {p["name"] for p in housing.list_projects()}
    rows = [row for row in counted.stock_projects(listed_units) if row["name"] not in existing]
    task = progress.add_task("stock raised 2021–2024", total=len(rows))
    for row in rows:
        housing.create_project(row)
        progress.advance(task)
    kinds = {p["kind"] for p in callers["caseworker"].housing.list_plans()}
    if "stock" not in kinds:
        callers["admin"].housing.record_stock_plan(
            {"year": 2025, "units": counted.STOCK_PLANNED_2025, "policy_ref": counted.PLAN_REF}
        )
    if "operator_subsidy" not in kinds:
        callers["admin"].housing.publish_operator_subsidy_forecast(2025)


def register_venues(callers) -> None:
    events = callers["caseworker"].events
    ids = {v["name"]: v["id"] for v in events.list_venues()}
    for row in counted.venues():
        if row["name"] in ids:
            continue
        venue = {key: value for key, value in row.items() if key != "shares"}
        if "shares" in row:
            venue["shares_venue_id"] = ids[row["shares"]]
        ids[row["name"]] = events.create_venue(venue)["id"]


def volunteer_services(callers, progress) -> None:
    events = callers["caseworker"].events
    teams = {t["name"]: t for t in events.list_volunteer_teams()}
    for name, town in counted.TEAMS:
        if name not in teams:
            teams[name] = events.create_volunteer_team({"name": name, "town": town})
    if any(team["records"] for team in teams.values()):
        return  # recorded by an earlier run (the services are recorded team by team, all or none)
    rows = counted.volunteer_services()
    task = progress.add_task("volunteer services 2024", total=len(rows))
    for row in rows:
        events.record_service_hours(
            {
                "team_id": teams[row["team"]]["id"],
                "service_date": row["service_date"],
                "people_served": row["people_served"],
                "volunteers": row["volunteers"],
            }
        )
        progress.advance(task)


def counted_records(callers, progress) -> None:
    """Step 5's records, each kind only when the register holds none of it yet (a publication: by title)."""
    events, admin = callers["caseworker"].events, callers["admin"].events
    held = events.counted_records()
    task = progress.add_task("seasons, visits, talks, guide, posts", total=6)
    if not held["held_activities"]:
        admin.import_past_season({"activities": counted.summer_season()})
        admin.import_past_season({"activities": counted.harmony_day()})
        events.record_open_event(counted.HAPPINESS_DAY)
    progress.advance(task)
    if not held["care_visits"]:
        for visit in counted.care_visits():
            events.record_care_visit(visit)
    progress.advance(task)
    if not held["trainings"]:
        for training in counted.trainings():
            events.record_training(training)
    progress.advance(task)
    titles = {p["title"] for p in events.list_publications()}
    for publication in (counted.GUIDE, *counted.posts()):
        if publication["title"] not in titles:
            events.record_publication(publication)
    progress.advance(task)
    if not held["distributions"]:
        [guide] = [p for p in events.list_publications() if p["title"] == counted.GUIDE["title"]]
        for row in counted.guide_distributions():
            events.record_distribution({"publication_id": guide["publication_id"], **row})
    progress.advance(task)
    if not held["follower_counts"]:
        for as_of, followers in counted.FOLLOWER_COUNTS:
            admin.record_follower_count({"channel": "wechat", "as_of": as_of, "followers": followers})
    progress.advance(task)


def build(settings, callers, scale: plan.Scale, progress, concurrency: int, skip_projects: bool = False) -> dict:
    """Steps 1–5; returns what this run recorded of the subsidy history."""
    policies = callers["caseworker"].housing.list_policies("rent_subsidy")
    households = plan.households(policies, scale)
    imported = import_households(settings, callers, households, progress, concurrency)
    paid, total = disburse(callers, progress)
    projects = [] if skip_projects else plan.projects(scale)
    if projects:
        build_projects(settings, callers, projects, progress, concurrency)
    raise_stock(callers, sum(len(p.units) for p in projects), progress)
    register_venues(callers)
    volunteer_services(callers, progress)
    counted_records(callers, progress)
    return {"imported": imported, "paid": paid, "total_fen": total}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--scale", type=float, default=1.0, help="the share of the housing history to build")
    parser.add_argument("--skip-projects", action="store_true", help="no 保租房 projects or operator subsidies")
    args = parser.parse_args(argv)
    console = Console()
    settings = Settings()
    callers = Callers(settings)
    scale = plan.Scale(args.scale)
    try:
        columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            run = build(settings, callers, scale, progress, args.concurrency, args.skip_projects)
        console.print(
            f"imported {run['imported']} households; recorded {run['paid']} payments "
            f"({run['total_fen'] / 100:,.2f} yuan) this run"
        )
        with console.status("waiting for stats to fold every event"):
            report = wait_for_report(callers, scale)
        console.print(report["text"])
        missing = document.mismatches(report["text"], scale)
        for line in missing:
            console.print(f"[red]not as the seed says:[/red] {line}")
        rebuilt = callers["admin"].stats.rebuild()
        console.print(
            f"stats.rebuild(): {rebuilt['events']} events refolded, equal to the live figures: {rebuilt['equal']}"
        )
    finally:
        callers.stop()
    return 1 if missing or not rebuilt["equal"] else 0


REPORT_YEARS = (2019, 2025)


def wait_for_report(callers, scale: plan.Scale, seconds: float = 900) -> dict:
    """stats folds the events as the relays publish them: wait until the report reads as the seed does and
    the archive stops growing (the last events of a step may still be on their way when the first match)."""
    import time

    deadline, archived = time.time() + seconds, -1
    while True:
        report = callers["admin"].stats.report(*REPORT_YEARS)
        now = callers["admin"].stats.summary()["events_archived"]
        if (not document.mismatches(report["text"], scale) and now == archived) or time.time() > deadline:
            return report
        archived = now
        time.sleep(2)
