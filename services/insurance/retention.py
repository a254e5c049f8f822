"""What insurance keeps about a person: everything, on purpose. A person's identity, their enrolments and the
employment registrations those rest on are social-insurance business records (社会保险业务档案): a pension
accrues over a working life and is paid until death, so the record that says who was insured, in which
scheme, from when and on what grounds must outlive any period a purge could apply (docs/privacy.md)."""

from __future__ import annotations

from services.insurance.models import Appeal, EmploymentRegistration, Enrolment, Person
from shared.cixi.appeals import kept_appeals
from shared.platform.retention import Kept

SOCIAL_INSURANCE_RECORD = Kept(
    "social_insurance_record",
    "kept: a social-insurance business record (社会保险业务档案管理规定（试行）, 人社部、国家档案局令第3号, art. 7)",
    "insured persons (ID or birth-certificate number, birth date), their enrolments and employment registrations",
    tables=(Person.__tablename__, Enrolment.__tablename__, EmploymentRegistration.__tablename__),
)

RULES = (SOCIAL_INSURANCE_RECORD, kept_appeals(Appeal.__tablename__))
