"""Hostile values for fuzzing public RPCs: wrong types, huge and deeply nested data, unicode edge cases,
injection strings, control characters, negative and enormous numbers."""

from hypothesis import strategies as st

INJECTIONS = [
    "' OR '1'='1' --",
    "'; DROP TABLE outbox; --",
    "{{7*7}}",
    "${jndi:ldap://127.0.0.1/x}",
    "{name}",
    "%s%s%s%n",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "\\x00",
    "null",
    "NaN",
    "-0",
    "1e309",
    "\u202e\u0645\u0631\u062d\u0628\u0627",
    "\ufeff",
    "𠀀𠀁𠀂",
    "👨‍👩‍👧‍👦",
    "ǅ",
    "Ⅻ",
    "١٢٣",
    "１３８１２３４５６７８",
    "11010519491231002X",
    "13812345678",
    "2024-02-30",
    "9999-99",
    "0000-00",
    "",
]

FIELD_NAMES = [
    "id_number",
    "name",
    "phone",
    "town",
    "category",
    "household_size",
    "monthly_rent_yuan",
    "has_residence_permit",
    "owns_home_in_cixi",
    "resident_id",
    "period",
    "status",
    "page",
    "page_size",
    "template_id",
    "segment",
    "personalisation",
    "year",
    "scheme",
    "activity_id",
    "capacity",
    "start",
    "end",
    "kind",
    "venue",
    "children",
    "decision",
    "note",
    "application_id",
    "unit_id",
    "project_id",
    "limit",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63), 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Mn", "So"]), max_size=20),
    st.sampled_from(INJECTIONS),
    st.just("x" * 100_000),
)

nested = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

deep = st.integers(min_value=50, max_value=200).map(lambda depth: _deeply_nested(depth))
big_list = st.integers(min_value=1000, max_value=5000).map(lambda n: list(range(n)))

records = st.dictionaries(st.sampled_from(FIELD_NAMES), st.one_of(scalars, nested), max_size=len(FIELD_NAMES))

values = st.one_of(scalars, nested, records, deep, big_list)


def _deeply_nested(depth: int):
    value: object = "bottom"
    for _ in range(depth):
        value = {"a": [value]}
    return value
