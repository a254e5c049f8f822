"""Contract-valid data for every event notify turns into a notice (housing, insurance, events, appeals), with the
SMS each should become (signature included). One resident per event kind, so a test can publish them all at
once."""

from shared.platform.contracts import load_all

AT = "2026-04-01T01:00:00+00:00"
COVERAGE = {"coverage_start": "2026-03-02", "coverage_end": "2027-03-01"}
STARTS = {"starts_at": "2025-07-03T02:00:00+00:00", "ends_at": "2025-07-03T04:00:00+00:00"}  # 10:00 in Cixi
ACTIVITY = {
    "activity_id": "act-1",
    "title": "暑期小候鸟课堂",
    "kind": "summer_class",
    "town": "浒山街道",
    "venue_name": "慈溪市少年儿童图书馆",
    **STARTS,
}


def resident(n: int) -> str:
    return f"r_{n:032x}"


def enrolment(n: int, **extra) -> dict:
    return {
        "enrolment_id": f"enr-{n}",
        "resident_id": resident(n),
        "guardian_resident_id": None,
        "scheme": "pension",
        "route": "flexible",
        "town": "浒山街道",
        **extra,
    }


def case(n: int, **extra) -> dict:
    return {"application_id": f"app-{n}", "resident_id": resident(n), "town": "周巷镇", "category": "talent", **extra}


def tenancy(n: int, **extra) -> dict:
    return {"tenancy_id": f"ten-{n}", "resident_id": resident(n), "town": "周巷镇", **extra}


def registration(n: int, **extra) -> dict:
    return {**ACTIVITY, "registration_id": f"reg-{n}", "resident_id": resident(n), "seats": 1, "children": 0, **extra}


PENSION_COVERAGE = {"coverage_start": "2026-03-02", "coverage_end": None}  # pension is continuous
ACTIVATED = {
    **PENSION_COVERAGE,
    "policy_year": 2026,
    "contribution_base_fen": 600_000,
    "monthly_contribution_fen": 120_000,
    "yearly_contribution_fen": None,
    "policy_ref": "pension.average_wage_monthly_fen=743700 fen (from 2026: …)",
    "activated_at": AT,
}


def appeal(n: int, case_type: str, **extra) -> dict:
    data = {
        "appeal_id": f"appeal-{n}",
        "case_type": case_type,
        "case_id": f"case-{n}",
        "resident_id": resident(n),
        "guardian_resident_id": None,
        "town": "浒山街道",
        "received_at": AT,
        "due_on": "2026-05-01",
        **extra,
    }
    if "reasons" in extra:
        data["decided_at"] = AT
    return data


# (source, event_type) -> (data, expected SMS)
NOTICES = {
    ("housing", "subsidy_approved"): (
        case(1, household_size=2, monthly_subsidy_fen=84_050, approved_at=AT, policy_ref="cixi-2024"),
        "【慈溪新市民】您的公共租赁住房租赁补贴申请已获批准，每月补贴840.5元，将按月发放。",
    ),
    ("housing", "subsidy_rejected"): (
        case(2, reasons=["owns_home_in_cixi"], rejected_at=AT),
        "【慈溪新市民】您的公共租赁住房租赁补贴申请未获批准，原因：本人、配偶或未成年子女在慈溪有自有住房。"
        "如有疑问请咨询慈溪市新市民服务中心。",
    ),
    ("housing", "subsidy_disbursed"): (
        case(3, disbursement_id="d-3", period="2026-03", amount_fen=84_050, disbursed_at=AT),
        "【慈溪新市民】您2026年3月的租赁补贴840.5元已发放，请注意查收。",
    ),
    ("housing", "subsidy_ended"): (
        case(4, reason="bought_home", ended_at=AT),
        "【慈溪新市民】您的公共租赁住房租赁补贴已于2026年4月1日终止，原因：已在本市购买住房。"
        "如有疑问请咨询慈溪市新市民服务中心。",
    ),
    ("housing", "subsidy_recertified"): (
        case(
            7,
            household_size=2,
            monthly_subsidy_fen=63_000,
            previous_monthly_subsidy_fen=84_050,
            end_period="2027-03",
            reviewed=False,
            policy_ref="cixi-2026",
            recertified_at=AT,
        ),
        "【慈溪新市民】您的公共租赁住房租赁补贴复核已完成，每月补贴630元，补贴期至2027年3月。",
    ),  # fmt: skip
    ("housing", "tenancy_started"): (
        tenancy(
            5, project_id="p-5", unit_id="u-5", monthly_rent_fen=120_000, start_date="2026-04-01", end_date="2029-03-31"
        ),
        "【慈溪新市民】您承租的保障性租赁住房租约已生效，租期2026年4月1日至2029年3月31日，月租金1200元。",
    ),  # fmt: skip
    ("housing", "tenancy_ended"): (
        tenancy(6, reason="lease_expired", ended_at=AT),
        "【慈溪新市民】您承租的保障性租赁住房租约已于2026年4月1日结束，原因：租期届满。",
    ),
    ("insurance", "enrolment_activated"): (
        enrolment(101, **ACTIVATED),
        "【慈溪新市民】您的企业职工基本养老保险已参保生效，自2026年3月2日起按月缴费，持续参保至退休或转出，"
        "个人每月缴费1200元。",
    ),
    ("insurance", "enrolment_rejected"): (
        enrolment(102, scheme="medical", route="resident", reasons=["cixi_residence"], rejected_at=AT),
        "【慈溪新市民】您的城乡居民医保参保申请未通过，原因：未持有有效的慈溪居住证。如有疑问请咨询医保经办机构。",
    ),
    ("insurance", "enrolment_suspended"): (
        enrolment(103, **PENSION_COVERAGE, reason="arrears", suspended_at=AT),
        "【慈溪新市民】您的企业职工基本养老保险已暂停，原因：欠缴保险费。如有疑问请咨询社保经办机构。",
    ),
    ("insurance", "enrolment_ended"): (
        enrolment(107, reason="retired", ended_at=AT),
        "【慈溪新市民】您的企业职工基本养老保险参保已终止，原因：已达到法定退休年龄。如有疑问请咨询社保经办机构。",
    ),
    ("insurance", "enrolment_lapsed"): (
        enrolment(104, scheme="medical", route="resident", **COVERAGE, lapsed_at=AT),
        "【慈溪新市民】您的城乡居民医保已于2027年3月1日到期未续保，保障已中止，如需继续参保请尽快办理。",
    ),
    ("insurance", "renewal_due"): (
        enrolment(105, scheme="medical", route="employee_points", **COVERAGE, days_left=30),
        "【慈溪新市民】您的职工积分医疗保险将于2027年3月1日到期，还有30天，请及时办理续保。",
    ),
    ("insurance", "employment_registered"): (
        {
            "registration_id": "emp-106",
            "resident_id": resident(106),
            "kind": "flexible",
            "town": "坎墩街道",
            "start_date": "2026-01-02",
            "registered_on": "2026-03-18",
            "days_after_start": 75,
            "late": True,
            "registered_at": AT,
        },
        "【慈溪新市民】您的灵活就业登记已办理，距开始工作（2026年1月2日）已75天，超过规定登记期限，今后请及时办理。",
    ),
    ("events", "registration_confirmed"): (
        registration(201, confirmed_at=AT),
        "【慈溪新市民】您已成功报名“暑期小候鸟课堂”，7月3日10:00在慈溪市少年儿童图书馆，请准时参加。",
    ),
    ("events", "registration_pending"): (
        registration(202),
        "【慈溪新市民】您报名的“暑期小候鸟课堂”（7月3日10:00）已收到，正在审核，结果将短信告知。",
    ),
    ("events", "registration_rejected"): (
        registration(203, reason="仅限8至12岁儿童参加"),
        "【慈溪新市民】您报名的“暑期小候鸟课堂”（7月3日10:00）未通过审核，原因：仅限8至12岁儿童参加。",
    ),
    ("events", "waitlisted"): (
        registration(204, position=3),
        "【慈溪新市民】“暑期小候鸟课堂”（7月3日10:00）名额已满，您已进入候补第3位，有空位将短信告知。",
    ),
    ("events", "seat_offered"): (
        registration(205, hold_expires_at="2025-07-02T01:00:00+00:00"),
        "【慈溪新市民】“暑期小候鸟课堂”（7月3日10:00）为您保留名额至7月2日09:00，"
        "请在“我在慈溪”公众号或到服务台确认，逾期顺延。",
    ),
    ("events", "offer_expired"): (
        registration(206, expired_at=AT),
        "【慈溪新市民】为您保留的“暑期小候鸟课堂”（7月3日10:00）名额已过期，已顺延给下一位。",
    ),
    ("events", "registration_cancelled"): (
        registration(207, reason="activity_cancelled", previous_status="confirmed", cancelled_at=AT),
        "【慈溪新市民】“暑期小候鸟课堂”（7月3日10:00）：因活动取消，您的报名已取消，很抱歉给您带来不便。",
    ),
    ("events", "reminder_due"): (
        registration(208),
        "【慈溪新市民】提醒：您报名的“暑期小候鸟课堂”将于7月3日10:00在慈溪市少年儿童图书馆开始，请准时参加。",
    ),
    ("events", "activity_rescheduled"): (
        {**ACTIVITY, "previous_starts_at": "2025-07-02T02:00:00+00:00", "resident_ids": [resident(209)]},
        "【慈溪新市民】您报名的“暑期小候鸟课堂”调整为7月3日10:00在慈溪市少年儿童图书馆举行，如不能参加请取消报名。",
    ),
    ("housing", "appeal_received"): (
        appeal(301, "subsidy_application"),
        "【慈溪新市民】已收到您对租赁补贴申请的复核申请，将于2026年5月1日前作出复核决定。",
    ),
    ("housing", "appeal_upheld"): (
        appeal(302, "subsidy_application", reasons=["材料齐全"]),
        "【慈溪新市民】您对租赁补贴申请的复核申请已获支持，原决定撤销，理由：材料齐全。",
    ),
    ("housing", "appeal_dismissed"): (
        appeal(303, "subsidy_application", reasons=["仍有住房"]),
        "【慈溪新市民】您对租赁补贴申请的复核申请经复核维持原决定，理由：仍有住房。如有异议可依法申请行政复议。",
    ),
    ("insurance", "appeal_received"): (
        appeal(304, "enrolment", guardian_resident_id=resident(314)),
        "【慈溪新市民】已收到您对子女参保申请的复核申请，将于2026年5月1日前作出复核决定。",
    ),
    ("insurance", "appeal_upheld"): (
        appeal(305, "enrolment", reasons=["登记材料齐全"]),
        "【慈溪新市民】您对参保申请的复核申请已获支持，原决定撤销，理由：登记材料齐全。",
    ),
    ("insurance", "appeal_dismissed"): (
        appeal(306, "enrolment", reasons=["未按时登记"]),
        "【慈溪新市民】您对参保申请的复核申请经复核维持原决定，理由：未按时登记。如有异议可依法申请行政复议。",
    ),
}


def recipient(data: dict) -> str:
    return data.get("guardian_resident_id") or data.get("resident_id") or data["resident_ids"][0]


def loaded(source: str, event_type: str, data: dict) -> dict:
    """The data as a consumer receives it: loaded by the contract's schema (dates and datetimes)."""
    return load_all().latest(source, event_type).loader().load(data)
