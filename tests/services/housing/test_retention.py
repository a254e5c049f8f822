"""Closed cases lose name, ID number and phone after the retention period; decisions and trail stay."""

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.housing.models import SubsidyApplication
from shared.platform.db import make_engine
from shared.platform.models import utcnow
from tests.services.housing.test_case_history import call  # noqa: F401  (the fixture)
from tests.support.jobs import until_finished
from tests.support.residents import application


def purged_once(admin, engine, kind: str, due: int, model) -> dict:
    """Dry run reports `due`, a purge erases that many, a second erases none; the rows afterwards, by id."""
    assert admin.purge_personal_data()[kind]["due"] == due
    assert until_finished(admin, admin.purge_personal_data(dry_run=False))["result"][kind] == due
    assert until_finished(admin, admin.purge_personal_data(dry_run=False))["result"][kind] == 0
    with Session(engine) as session:
        rows = {row.id: row for row in session.query(model)}
    engine.dispose()
    return rows


def test_purge_erases_identity_of_old_closed_cases_only(call, db_url):  # noqa: F811
    caseworker, reviewer, admin = call("cw-1", "caseworker"), call("rv-1", "reviewer"), call("ops", "admin")
    old = caseworker.submit_subsidy_application(application())["application_id"]
    reviewer.review_subsidy_application(old, "reject", "材料不全")
    recent = caseworker.submit_subsidy_application(application())["application_id"]
    reviewer.review_subsidy_application(recent, "reject", "材料不全")
    open_case = caseworker.submit_subsidy_application(application())["application_id"]
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.execute(
            update(SubsidyApplication)
            .where(SubsidyApplication.id.in_([old, open_case]))
            .values(reviewed_at=utcnow() - timedelta(days=6 * 365), submitted_at=utcnow() - timedelta(days=6 * 365))
        )
        session.commit()

    rows = purged_once(admin, engine, "closed_case_identity", 1, SubsidyApplication)
    assert (rows[old].id_number_encrypted, rows[old].phone_encrypted, rows[old].name) == (
        "erased",
        "erased",
        "（已删除）",
    )
    assert rows[old].status == "rejected" and "********" in rows[old].id_number_masked  # the masked form stays
    assert rows[recent].id_number_encrypted != "erased" and rows[open_case].id_number_encrypted != "erased"
    assert [h["to_state"] for h in admin.get_case_history("subsidy_application", old)] == ["submitted", "rejected"]


def test_the_append_only_trail_never_held_the_clear_name_so_erasure_leaves_none(call, db_url):  # noqa: F811
    from sqlalchemy import select

    from shared.platform.audit import AuditRecord

    caseworker, reviewer = call("cw-1", "caseworker"), call("rv-1", "reviewer")
    submitted = application(name="欧阳明月")
    case = caseworker.submit_subsidy_application(submitted)["application_id"]
    reviewer.review_subsidy_application(case, "reject", "材料不全")
    engine = make_engine(db_url)
    with Session(engine) as session:
        trail = [row.changes for row in session.scalars(select(AuditRecord).where(AuditRecord.case_id == case))]
    engine.dispose()
    assert len(trail) == 2 and '"name": "欧***"' in trail[0]  # the creation record keeps the surname's mask
    assert not any("欧阳明月" in changes or "明月" in changes for changes in trail)


def test_purge_erases_identity_of_refused_tenancy_applications_and_ended_tenancies_only(call, db_url):  # noqa: F811
    from services.housing.models import Tenancy, TenancyApplication
    from tests.services.housing.conftest import project, tenancy_application, unit

    caseworker, reviewer, admin = call("cw-1", "caseworker"), call("rv-1", "reviewer"), call("ops", "admin")
    project_id = caseworker.create_project(project())["project_id"]
    for unit_no in ("101", "102"):
        caseworker.list_unit(project_id, unit(unit_no))
    refused_old, refused_recent = (
        caseworker.submit_tenancy_application(tenancy_application(owns_home_in_cixi=True)) for _ in range(2)
    )
    assert refused_old["status"] == refused_recent["status"] == "ineligible"
    ended_old, living = (caseworker.submit_tenancy_application(tenancy_application())["application_id"] for _ in "ab")
    ended_lease = reviewer.allocate_unit(ended_old, project_id, start_date="2025-01-31")
    reviewer.allocate_unit(living, project_id, start_date="2025-01-31")
    caseworker.end_tenancy(ended_lease["tenancy_id"], "bought_home")
    six_years_ago = utcnow() - timedelta(days=6 * 365)
    engine = make_engine(db_url)
    with Session(engine) as session:
        session.execute(update(TenancyApplication).values(submitted_at=six_years_ago)
                        .where(TenancyApplication.id != refused_recent["application_id"]))  # fmt: skip
        session.execute(update(Tenancy).values(ended_at=six_years_ago).where(Tenancy.application_id == ended_old))
        session.commit()

    rows = purged_once(admin, engine, "closed_tenancy_identity", 2, TenancyApplication)
    erased = {key for key, row in rows.items() if (row.id_number_encrypted, row.phone_encrypted, row.name)
              == ("erased", "erased", "（已删除）")}  # fmt: skip
    assert erased == {refused_old["application_id"], ended_old}  # not the recent refusal, not the sitting tenant
    assert all("********" in rows[key].id_number_masked for key in erased)  # the masked form stays


def test_recertification_notes_go_when_their_case_has_been_closed_for_the_period_and_not_a_day_sooner(
    db_url, process_clock
):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from services.housing.models import PolicyVersion, SubsidyRecertification
    from services.housing.retention import ERASED_NOTE, FIVE_YEARS, RULES
    from tests.support.retention import migrated, purged, rows_by

    process_clock(datetime(2031, 3, 1, 9, 0, tzinfo=UTC))
    now = utcnow()
    period_end = now - timedelta(days=FIVE_YEARS)
    engine = migrated("housing", db_url)
    closed_at = {
        "just-in": period_end + timedelta(days=1),  # one day of the period left: stays
        "at-end": period_end,  # exactly the period has passed, not more: stays (every rule's cutoff is exclusive)
        "just-out": period_end - timedelta(seconds=1),  # the period is over: goes
        "long-out": period_end - timedelta(days=400),
        "approved": period_end - timedelta(days=400),  # an open case stays however old
    }
    with Session(engine) as session:
        policy = session.scalars(select(PolicyVersion.id)).first()
        for case, moment in closed_at.items():
            session.add(SubsidyApplication(
                id=case, resident_id=f"r_{case}", id_number_encrypted="x", id_number_masked="110105********002X",
                name="张三", phone_encrypted="x", phone_index=f"i_{case}", phone_masked="138****5678", town="浒山街道",
                submitted_by="cw-1", submitted_at=moment, category="new_graduate", household_size=2, monthly_rent_fen=1,
                has_residence_permit=True, owns_home_in_cixi=False, eligibility_policy_id=policy,
                status="approved" if case == "approved" else "ended", ended_at=None if case == "approved" else moment,
            ))  # fmt: skip
            session.flush()
            session.add(SubsidyRecertification(
                id=f"rc-{case}", application_id=case, status="approved", changes="{}", previous_monthly_subsidy_fen=1,
                monthly_subsidy_fen=2, previous_end_period="2026-01", end_period="2027-01", policy_id=policy,
                policy_ref="ref", proposed_by="cw-1", proposed_at=moment, reviewed_by="rv-1", reviewed_at=moment,
                review_note="家中老人住院，房租由亲戚代付",
            ))  # fmt: skip
        session.commit()

    assert purged(engine, RULES, "closed_case_recertification_notes", now) == 2
    notes = rows_by(engine, SubsidyRecertification, "application_id")
    assert {case for case, row in notes.items() if row.review_note == ERASED_NOTE} == {"just-out", "long-out"}
    assert notes["just-out"].monthly_subsidy_fen == 2 and notes["just-out"].reviewed_by == "rv-1"  # the decision stays
