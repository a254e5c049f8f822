"""Drive the running platform through its RPC APIs (never its databases) to build the demo history.

Steps, each safe to repeat (a re-run creates nothing twice):
1. 7,044 rent-subsidy households decided 2019–2024, imported as legacy cases on their decision dates;
2. every month's disbursement 2019-01 … 2024-12, recorded as history (`backfill`);
3. 34 affordable-rental projects with 6,622 units, 85 % let to tenants, assessed for 2024's operator
   subsidy and approved by a second reviewer;
4. the stats report for 2019–2024, which should read like the seed.
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

from ops.demo import plan  # noqa: E402
from ops.jobs import follow  # noqa: E402
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
    """Start every month's job at once (housing runs them one after another), then follow each."""
    task = progress.add_task("disbursements 2019-01 … 2024-12", total=len(periods()))
    started = [callers["admin"].housing.run_disbursement(period, backfill=True) for period in periods()]
    paid = total = 0
    for job in started:
        done = follow(callers["admin"], job)
        if done["status"] != "completed":
            raise RuntimeError(f"disbursement job {done['job_id']} {done['status']}: {done['error']}")
        paid += done["result"]["paid"]
        total += done["result"]["total_fen"]
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-projects", action="store_true", help="only the rent-subsidy history")
    args = parser.parse_args(argv)
    console = Console()
    settings = Settings()
    callers = Callers(settings)
    try:
        policies = callers["caseworker"].housing.list_policies("rent_subsidy")
        households = plan.households(policies)
        columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            imported = import_households(settings, callers, households, progress, args.concurrency)
            paid, total = disburse(callers, progress)
            if not args.skip_projects:
                build_projects(settings, callers, plan.projects(), progress, args.concurrency)
        console.print(f"imported {imported} households; recorded {paid} payments ({total / 100:,.2f} yuan) this run")
        expected = {"households": len(households), "subsidy_paid_fen": plan.SUBSIDY_TOTAL_FEN}
        with console.status("waiting for stats to fold every event"):
            report = wait_for_report(callers, expected)
        console.print(report["text"])
    finally:
        callers.stop()
    return 0


def wait_for_report(callers, expected: dict, seconds: float = 900) -> dict:
    """stats folds the events as housing's relay publishes them: wait until the report shows the plan."""
    import time

    deadline = time.time() + seconds
    while True:
        report = callers["admin"].stats.report(2019, 2024)
        seen = {key: report["figures"].get(key) for key in expected}
        if seen == expected or time.time() > deadline:
            return report
        time.sleep(2)
