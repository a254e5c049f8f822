"""insurance erases nothing on purpose: a purge reports its records as kept and leaves every person whole."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from services.insurance.models import Person
from services.insurance.retention import RULES
from shared.platform.clock import utcnow
from shared.platform.retention import purge
from tests.support.retention import migrated, rows_by


def test_a_purge_reports_the_social_insurance_record_as_kept_and_erases_nothing(db_url, process_clock):
    process_clock(datetime(2090, 1, 1, tzinfo=UTC))  # decades after anything below
    engine = migrated("insurance", db_url)
    with Session(engine) as session:
        session.add(Person(resident_id="r_old", id_index="i_old", id_number_encrypted="x",
                           id_number_masked="110105********002X", birth_date=date(1949, 12, 31), sex="female",
                           hukou="other", updated_at=utcnow() - timedelta(days=60 * 365)))  # fmt: skip
        session.commit()

    report = purge(sessionmaker(bind=engine), RULES, {}, utcnow(), dry_run=False)
    person = rows_by(engine, Person, "resident_id")["r_old"]
    assert report["social_insurance_record"]["kept"].startswith("kept: a social-insurance business record")
    assert all("erased" not in entry for entry in report.values())
    assert person.id_number_encrypted == "x"
