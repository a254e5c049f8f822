from __future__ import annotations

import base64
import io
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from shared.platform.clock import SHANGHAI, local_today
from shared.platform.personal_data import (
    DEV_KEYS,
    DecryptionError,
    FieldCipher,
    InvalidIdNumber,
    InvalidPhone,
    PiiKeys,
    PiiLogFilter,
    age_on,
    birth_date_from_id,
    blind_index,
    find_personal_data,
    is_valid_id_number,
    is_valid_phone,
    mask_id_number,
    mask_phone,
    mask_text,
    normalise_id_number,
    normalise_phone,
    resident_id,
    sex_from_id,
)

FEMALE_1949 = "11010519491231002X"
MALE_1880 = "440524188001010014"

# Written out from the standard rather than imported, so the tests do not share a bug with the code.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def with_check_char(first17: str) -> str:
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def id_born_on(born: date) -> str:
    return with_check_char(f"330282{born:%Y%m%d}123")


# --- ID numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (FEMALE_1949, FEMALE_1949),
        (MALE_1880, MALE_1880),
        ("11010519491231002x", FEMALE_1949),
        (f"  {MALE_1880}\n", MALE_1880),
        (f"\u3000{FEMALE_1949}\t", FEMALE_1949),
        (id_born_on(local_today()), id_born_on(local_today())),
    ],
    ids=["vector-1949", "vector-1880", "lower-x", "whitespace", "ideographic-space", "born-today"],
)
def test_valid_id_numbers_normalise(raw: str, expected: str) -> None:
    assert normalise_id_number(raw) == expected
    assert is_valid_id_number(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002Y", "unknown format"),
        ("110105194912310021", "bad checksum"),
        ("440524188001010015", "bad checksum"),
        ("11010519491231002", "must be 18 characters"),
        ("1101051949123100200", "must be 18 characters"),
        ("", "must be 18 characters"),
        ("1101051949A231002X", "unknown format"),
        ("X10105194912310021", "unknown format"),
        (with_check_char("33028219990231123"), "impossible birth date"),
        (with_check_char("33028219901301123"), "impossible birth date"),
        (with_check_char("33028200000101123"), "impossible birth date"),
        (with_check_char("33028229990101123"), "birth date in the future"),
    ],
    ids=[
        "letter-check-char",
        "vector-1949-last-changed",
        "vector-1880-last-changed",
        "17-chars",
        "19-chars",
        "empty",
        "letter-inside",
        "letter-first",
        "feb-31",
        "month-13",
        "year-0",
        "year-2999",
    ],
)
def test_invalid_id_numbers_are_rejected_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdNumber, match=rf"^{reason}$"):
        normalise_id_number(raw)
    assert not is_valid_id_number(raw)


def test_an_id_born_tomorrow_is_refused_and_one_born_today_is_not(process_clock) -> None:
    # the day on the platform's clock, set here: a date taken at collection can be yesterday by the time
    # the test runs (a run that crosses midnight in Cixi)
    process_clock(datetime(2026, 12, 2, 12, 0, tzinfo=SHANGHAI))
    with pytest.raises(InvalidIdNumber, match="^birth date in the future$"):
        normalise_id_number(id_born_on(local_today() + timedelta(days=1)))
    assert is_valid_id_number(id_born_on(local_today()))


def test_invalid_id_error_does_not_echo_the_input() -> None:
    with pytest.raises(InvalidIdNumber) as excinfo:
        normalise_id_number("110105194912310021")
    assert "1101051949" not in str(excinfo.value)


def test_invalid_id_number_is_a_value_error() -> None:
    assert issubclass(InvalidIdNumber, ValueError)
    assert issubclass(InvalidPhone, ValueError)


@pytest.mark.parametrize(
    ("id_number", "born", "sex"),
    [
        (FEMALE_1949, date(1949, 12, 31), "female"),
        ("11010519491231002x", date(1949, 12, 31), "female"),
        (MALE_1880, date(1880, 1, 1), "male"),
    ],
)
def test_birth_date_and_sex(id_number: str, born: date, sex: str) -> None:
    assert birth_date_from_id(id_number) == born
    assert sex_from_id(id_number) == sex


@pytest.mark.parametrize(
    ("id_number", "on", "age"),
    [
        (FEMALE_1949, date(1949, 12, 31), 0),
        (FEMALE_1949, date(1950, 12, 30), 0),
        (FEMALE_1949, date(1950, 12, 31), 1),
        (FEMALE_1949, date(2024, 6, 1), 74),
        (MALE_1880, date(1900, 1, 1), 20),
        (MALE_1880, date(1899, 12, 31), 19),
        (id_born_on(date(2000, 2, 29)), date(2018, 2, 28), 17),
        (id_born_on(date(2000, 2, 29)), date(2018, 3, 1), 18),
    ],
)
def test_age_on_counts_whole_years(id_number: str, on: date, age: int) -> None:
    assert age_on(id_number, on) == age


def test_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError):
        age_on(FEMALE_1949, date(1949, 12, 30))


def test_derived_fields_reject_invalid_numbers() -> None:
    with pytest.raises(InvalidIdNumber):
        sex_from_id("110105194912310021")


# --- Phones --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0086 13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        (" 19912345678 ", "19912345678"),
    ],
)
def test_valid_phones_normalise(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected
    assert is_valid_phone(raw)


@pytest.mark.parametrize(
    "raw",
    ["12812345678", "1381234567", "138123456789", "23812345678", "", "+86", "1381234567a", "8613812345678"],
)
def test_invalid_phones_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhone, match=r"^unknown format$"):
        normalise_phone(raw)
    assert not is_valid_phone(raw)


# --- Masking -------------------------------------------------------------------------------------


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "138****5678"
    with pytest.raises(InvalidPhone):
        mask_phone("12345")


def test_mask_id_number_keeps_first_six_and_last_four() -> None:
    assert mask_id_number("330282199001011234") == "330282********1234"
    assert mask_id_number("11010519491231002x") == "110105********002X"
    assert len(mask_id_number(MALE_1880)) == 18
    with pytest.raises(InvalidIdNumber):
        mask_id_number("3302821990")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678请回复", "电话138****5678请回复"),
        ("身份证号330282199001011234已登记", "身份证号330282********1234已登记"),
        ("证件11010519491231002x。", "证件110105********002x。"),
        ("手机+8613812345678", "手机+86138****5678"),
        ("手机0086 13812345678", "手机0086 138****5678"),
        ("手机138-1234-5678", "手机138****5678"),
        (
            "张三 330282199001011234 电话 13812345678，李四电话15987654321",
            "张三 330282********1234 电话 138****5678，李四电话159****4321",
        ),
        ("号码：１３８１２３４５６７８", "号码：１３８****５６７８"),
        ("证件１１０１０５１９４９１２３１００２Ｘ", "证件１１０１０５********００２Ｘ"),
        ("11010519491231002X13812345678", "110105********002X138****5678"),
    ],
    ids=[
        "phone-between-cjk",
        "id-between-cjk",
        "id-lower-x",
        "plus86",
        "0086",
        "dashed-phone",
        "several-numbers",
        "full-width-phone",
        "full-width-id",
        "id-then-phone",
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_text_masks_an_id_whole_not_as_a_phone() -> None:
    # Digits 7-17 of this ID form a valid-looking mobile number (13812345678).
    id_number = with_check_char("33028213812345678")
    assert mask_text(f"号{id_number}号") == f"号330282********{id_number[-4:]}号"


@pytest.mark.parametrize(
    "text",
    [
        "今天天气很好，没有号码。",
        "订单 2024-06-01 共 12 件",
        "12812345678",
        "1381234567",
        "卡号 6222021234567890123",
        "",
    ],
)
def test_mask_text_leaves_other_text_alone(text: str) -> None:
    assert mask_text(text) == text


def test_find_personal_data_finds_clear_numbers_only() -> None:
    id_number = with_check_char("33028219900101123")
    text = f"身份证{id_number}，电话13812345678；已脱敏 {mask_text(id_number)} 138****5678；订单 6222021234567890123"
    assert find_personal_data(text) == [id_number, "13812345678"]
    wrong_check = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
    assert find_personal_data(f"x{wrong_check}x") == []  # 18 digits but not an ID number
    assert find_personal_data(mask_text(text)) == []
    hex_ids = "event 3f2a1138-7881-4028-9abc-0123456789ab resident r_a13812345678b0"
    assert find_personal_data(hex_ids) == []  # digits inside hex ids are not phone numbers
    assert find_personal_data("+8613812345678") == ["+8613812345678"]


def test_mask_text_is_idempotent() -> None:
    once = mask_text("电话13812345678，身份证330282199001011234")
    assert mask_text(once) == once


# --- Logging -------------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(PiiLogFilter())
    logger = logging.getLogger("tests.unit.test_pii")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_log_filter_masks_formatted_args(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("居民 %s 电话%s", "330282199001011234", 13812345678)
    assert stream.getvalue() == "INFO 居民 330282********1234 电话138****5678\n"


def test_log_filter_masks_exception_text(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        raise RuntimeError("无法联系13812345678")
    except RuntimeError:
        logger.exception("lookup failed for %s", "11010519491231002X")
    output = stream.getvalue()
    assert "13812345678" not in output
    assert "11010519491231002X" not in output
    assert "138****5678" in output
    assert "110105********002X" in output
    assert "Traceback" in output


def test_log_filter_handles_non_string_messages(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning({"phone": "13812345678"})
    assert stream.getvalue() == "WARNING {'phone': '138****5678'}\n"


def test_log_filter_survives_a_bad_format_string(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("phone %d", "13812345678")
    assert "13812345678" not in stream.getvalue()
    assert "138****5678" in stream.getvalue()


def test_log_filter_masks_every_password_of_a_broker_failover_list(captured) -> None:
    logger, stream = captured
    logger.warning(
        "Error connecting to broker at %s", "pyamqp://nc:********@node-0:5672/v;pyamqp://nc:s3cret@node-1:5672/v"
    )
    assert stream.getvalue() == (
        "WARNING Error connecting to broker at pyamqp://nc:********@node-0:5672/v;pyamqp://nc:********@node-1:5672/v\n"
    )


def test_log_filter_rewrites_the_record() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "电话%s", ("13812345678",), None)
    assert PiiLogFilter().filter(record) is True
    assert record.msg == "电话138****5678"
    assert record.args is None
    assert record.getMessage() == "电话138****5678"


# --- Keys, pseudonyms and blind indexes ----------------------------------------------------------


def test_keys_are_32_bytes_and_independent() -> None:
    keys = PiiKeys.from_config("same-secret", "same-secret")
    assert len(keys.hmac_key) == len(keys.encryption_key) == 32
    assert keys.hmac_key != keys.encryption_key
    assert PiiKeys.from_config("same-secret", "same-secret") == keys


def test_keys_are_not_shown_in_repr() -> None:
    assert DEV_KEYS.hmac_key.hex() not in repr(DEV_KEYS)


def test_empty_secret_is_rejected() -> None:
    with pytest.raises(ValueError):
        PiiKeys.from_config("", "x")


def test_resident_id_is_a_stable_pseudonym() -> None:
    rid = resident_id(FEMALE_1949, DEV_KEYS)
    assert rid == resident_id(FEMALE_1949, DEV_KEYS)
    assert re.fullmatch(r"r_[0-9a-f]{32}", rid)
    assert FEMALE_1949 not in rid


def test_resident_id_uses_the_normalised_number() -> None:
    assert resident_id("11010519491231002x", DEV_KEYS) == resident_id(f" {FEMALE_1949} ", DEV_KEYS)


def test_resident_id_differs_by_person_and_key() -> None:
    other_keys = PiiKeys.from_config("another-hmac-key", "dev-only-encryption-key")
    assert resident_id(FEMALE_1949, DEV_KEYS) != resident_id(MALE_1880, DEV_KEYS)
    assert resident_id(FEMALE_1949, DEV_KEYS) != resident_id(FEMALE_1949, other_keys)


def test_resident_id_rejects_invalid_numbers() -> None:
    with pytest.raises(InvalidIdNumber):
        resident_id("110105194912310021", DEV_KEYS)


def test_blind_index_separates_purposes() -> None:
    phone_index = blind_index("13812345678", DEV_KEYS, "phone")
    assert phone_index == blind_index("13812345678", DEV_KEYS, "phone")
    assert phone_index != blind_index("13812345678", DEV_KEYS, "id_number")
    assert phone_index != blind_index("13812345679", DEV_KEYS, "phone")
    assert len(phone_index) == 64


def test_blind_index_depends_on_the_key() -> None:
    other_keys = PiiKeys.from_config("another-hmac-key", "dev-only-encryption-key")
    assert blind_index("13812345678", DEV_KEYS, "phone") != blind_index("13812345678", other_keys, "phone")


@pytest.mark.parametrize("purpose", ["", "phone:v2"])
def test_blind_index_rejects_ambiguous_purposes(purpose: str) -> None:
    with pytest.raises(ValueError):
        blind_index("13812345678", DEV_KEYS, purpose)


# --- Field encryption ----------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["浙江省宁波市慈溪市白沙路街道", "13812345678", "", "emoji 🚧"])
def test_field_cipher_round_trip(plaintext: str) -> None:
    cipher = FieldCipher(DEV_KEYS)
    token = cipher.encrypt(plaintext)
    assert isinstance(token, str)
    assert plaintext not in token or plaintext == ""
    assert cipher.decrypt(token) == plaintext


def test_field_cipher_token_is_url_safe() -> None:
    token = FieldCipher(DEV_KEYS).encrypt("慈溪" * 50)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def test_field_cipher_uses_a_fresh_nonce_each_time() -> None:
    cipher = FieldCipher(DEV_KEYS)
    assert cipher.encrypt("同一个值") != cipher.encrypt("同一个值")


def _flip_byte(token: str, index: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode("ascii")


@pytest.mark.parametrize("index", [0, 1, 13, -1], ids=["version", "nonce", "ciphertext", "tag"])
def test_field_cipher_detects_tampering(index: int) -> None:
    cipher = FieldCipher(DEV_KEYS)
    token = cipher.encrypt("张三")
    with pytest.raises(DecryptionError):
        cipher.decrypt(_flip_byte(token, index))


@pytest.mark.parametrize("token", ["", "not base64!", "AQ==", "é"])
def test_field_cipher_rejects_malformed_tokens(token: str) -> None:
    with pytest.raises(DecryptionError):
        FieldCipher(DEV_KEYS).decrypt(token)


def test_field_cipher_rejects_another_key() -> None:
    token = FieldCipher(DEV_KEYS).encrypt("张三")
    other = FieldCipher(PiiKeys.from_config("dev-only-hmac-key", "another-encryption-key"))
    with pytest.raises(DecryptionError):
        other.decrypt(token)


@pytest.mark.parametrize(
    ("now_in_cixi", "valid"),
    [("2026-12-01T23:59:59+08:00", False), ("2026-12-02T00:00:00+08:00", True)],
    ids=["a-second-before-cixi-midnight", "cixi-midnight"],
)
def test_a_birth_date_is_in_the_future_until_the_day_starts_in_cixi(process_clock, now_in_cixi, valid):
    process_clock(datetime.fromisoformat(now_in_cixi))  # 15:59:59 and 16:00 UTC: still the 1st in London
    born_on_the_second = id_born_on(date(2026, 12, 2))
    if valid:
        assert normalise_id_number(born_on_the_second) == born_on_the_second
    else:
        with pytest.raises(InvalidIdNumber, match="birth date in the future"):
            normalise_id_number(born_on_the_second)
