"""Every reason code a publisher may put in an event (its contract's enumeration), as a resident reads it.

Keyed by the publishing service, because a code is that service's word ("arrears" is unpaid rent in
housing, unpaid contributions in insurance). tests/services/notify/test_reason_wording.py walks every code
of every contract notify consumes through the real templates, so a code without wording fails a test; at
run time it is shown as `UNWORDED` and logged, never shown as the code.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

UNWORDED = "具体原因请咨询办理窗口"

HOUSING = {
    # eligibility (services/housing/rules.py)
    "under_min_age": "申请人未达到规定年龄",
    "no_residence_permit": "未持有有效的浙江省居住证",
    "owns_home_in_cixi": "本人、配偶或未成年子女在慈溪有自有住房",
    "not_employed_in_cixi": "未在慈溪就业",
    "category_not_covered": "不属于补贴保障对象",
    "household_size_not_covered": "家庭人数不符合规定",
    "rejected_on_review": "经审核不符合条件",
    # exits
    "bought_home": "已在本市购买住房",
    "left_employment": "已不在慈溪就业",
    "left_employment_in_cixi": "已不在慈溪就业",
    "left_cixi": "已离开慈溪",
    "sublet": "存在转租行为",
    "arrears": "拖欠租金",
    "tenant_request": "本人申请退出",
    "moved_out": "已搬离",
    "no_longer_eligible": "资格复核未通过",
    "term_expired": "保障期限届满",
    "lease_expired": "租期届满",
}

INSURANCE = {
    # eligibility (services/insurance/rules.py)
    "working_age": "不在法定劳动年龄内",
    "minimum_age": "未满法定就业年龄",
    "employee_registration": "未在慈溪办理就业登记",
    "flexible_registration": "未在慈溪办理灵活就业登记",
    "non_local_hukou": "本市户籍人员不适用该参保方式",
    "cixi_residence": "未持有有效的慈溪居住证",
    "zhejiang_permit": "未持有有效的浙江省居住证",
    "newborn_age": "已超过新生儿参保年龄",
    "birth_certificate": "未提供出生医学证明",
    "parent_insured": "父母一方未在本市正常参保",
    "parent_contribution_months": "父母一方累计缴费月数不足",
    "parent_cixi_permit": "父母一方未持有有效的慈溪居住证",
    "past_newborn_age": "仍在新生儿参保期内，请按新生儿参保办理",
    "preschool_age": "已到入学年龄，不属于学龄前儿童",
    # a reviewer's findings
    "documents_incomplete": "申请材料不全",
    "insured_elsewhere": "已在其他地区或其他险种参保",
    "rejected_on_review": "经审核不符合参保条件",
    # suspension and end
    "arrears": "欠缴保险费",
    "permit_expired": "居住证已过期",
    "documents_under_review": "参保材料正在核查",
    "resident_request": "本人申请",
    "retired": "已达到法定退休年龄",
    "transferred_out": "已办理转出",
    "left_cixi": "已离开慈溪",
    "deceased": "参保人已身故",
}

# a registration's cancellation as the whole outcome the notice states
EVENTS = {
    "by_resident": "您的报名已按您的申请取消",
    "by_staff": "您的报名已由工作人员取消，如有疑问请咨询主办方",
    "activity_cancelled": "因活动取消，您的报名已取消，很抱歉给您带来不便",
}

WORDING = {"housing": HOUSING, "insurance": INSURANCE, "events": EVENTS}


def wording(source: str, code: str) -> str:
    text = WORDING.get(source, {}).get(code)
    if text is None:
        log.warning("reason code without wording: %s.%s (the resident is sent %r)", source, code, UNWORDED)
        return UNWORDED
    return text
