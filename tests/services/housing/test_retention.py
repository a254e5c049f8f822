"""Closed cases lose name, ID number and phone after the retention period; decisions and trail stay."""

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.housing.models import SubsidyApplication
from shared.db import make_engine
from shared.models import utcnow
from tests.services.housing.test_case_history import call  # noqa: F401  (the fixture)
from tests.support.residents import application


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

    assert admin.purge_personal_data()["closed_case_identity"]["due"] == 1
    assert admin.purge_personal_data(dry_run=False)["closed_case_identity"]["erased"] == 1
    assert admin.purge_personal_data(dry_run=False)["closed_case_identity"]["erased"] == 0
    with Session(engine) as session:
        rows = {row.id: row for row in session.query(SubsidyApplication)}
    engine.dispose()
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

    from shared.audit import AuditRecord

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
