"""Validation, masking, pseudonyms and field encryption for resident ID numbers and mobile phones."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.platform.clock import local_today


class InvalidIdNumber(ValueError):
    """Not a valid GB 11643-1999 resident ID number."""


class InvalidPhone(ValueError):
    """Not a valid mainland China mobile number."""


class DecryptionError(Exception):
    """A ciphertext token is malformed, tampered with, or encrypted under another key."""


# --- Resident ID numbers (GB 11643-1999) ---------------------------------------------------------

_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"


def _id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _birth_date(id_number: str) -> date:
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        raise InvalidIdNumber("impossible birth date") from None


def _strip_id(raw: str) -> str:
    stripped = raw.strip()
    if stripped.endswith("x"):
        stripped = stripped[:-1] + "X"
    return stripped


def normalise_id_number(raw: str) -> str:
    """Return the canonical form of an 18-character ID number, or raise InvalidIdNumber."""
    id_number = _strip_id(raw)
    if len(id_number) != 18:
        raise InvalidIdNumber("must be 18 characters")
    if not _ID_SHAPE.fullmatch(id_number):
        raise InvalidIdNumber("unknown format")
    if _birth_date(id_number) > local_today():
        raise InvalidIdNumber("birth date in the future")
    if _id_check_char(id_number[:17]) != id_number[17]:
        raise InvalidIdNumber("bad checksum")
    return id_number


def is_valid_id_number(raw: str) -> bool:
    """True if `raw` normalises to a valid ID number."""
    try:
        normalise_id_number(raw)
    except InvalidIdNumber:
        return False
    return True


def birth_date_from_id(id_number: str) -> date:
    """Birth date encoded in a valid ID number."""
    return _birth_date(normalise_id_number(id_number))


def sex_from_id(id_number: str) -> str:
    """Return "male" if the sequence digit (17th character) is odd, else "female"."""
    return "male" if int(normalise_id_number(id_number)[16]) % 2 else "female"


def age_on(id_number: str, on: date) -> int:
    """Age in whole years on the given date."""
    born = birth_date_from_id(id_number)
    if on < born:
        raise ValueError("date is before birth")
    birthday_not_yet_reached = (on.month, on.day) < (born.month, born.day)
    return on.year - born.year - birthday_not_yet_reached


ADULT_AGE_YEARS = 18  # the Civil Code's age of majority


def is_minor(id_number: str, on: date) -> bool:
    """Under 18 on the given date (someone born after it counts as a minor)."""
    born = birth_date_from_id(id_number)
    return on < born or age_on(id_number, on) < ADULT_AGE_YEARS


# --- Mobile phones ---------------------------------------------------------------------------------

_PHONE_SHAPE = re.compile(r"1[3-9][0-9]{9}")
_PHONE_SEPARATORS = re.compile(r"[\s-]")


def normalise_phone(raw: str) -> str:
    """Return the bare 11-digit mobile number, or raise InvalidPhone."""
    phone = _PHONE_SEPARATORS.sub("", raw)
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
            break
    if not _PHONE_SHAPE.fullmatch(phone):
        raise InvalidPhone("unknown format")
    return phone


def is_valid_phone(raw: str) -> bool:
    """True if `raw` normalises to a valid mobile number."""
    try:
        normalise_phone(raw)
    except InvalidPhone:
        return False
    return True


# --- Masking -------------------------------------------------------------------------------------


def mask_phone(phone: str) -> str:
    """`13812345678` -> `138****5678`; raises InvalidPhone if not a mobile number."""
    normalised = normalise_phone(phone)
    return f"{normalised[:3]}****{normalised[-4:]}"


def mask_id_number(id_number: str) -> str:
    """Keep the area code and the last four characters: `330282********1234`."""
    # Only the shape is checked: a mistyped number (bad checksum or date) must still be hidden.
    stripped = _strip_id(id_number)
    if len(stripped) != 18:
        raise InvalidIdNumber("must be 18 characters")
    if not _ID_SHAPE.fullmatch(stripped):
        raise InvalidIdNumber("unknown format")
    return f"{stripped[:6]}{'*' * 8}{stripped[-4:]}"


# --- Birth certificates (出生医学证明) ------------------------------------------------------------

# the certificate's printed number: one capital letter and nine digits (the national form used since 2014)
# [assumed: docs/policy.md]; personal data like an ID number, never in the clear in logs, events or errors
_CERT_SHAPE = re.compile(r"[A-Z][0-9]{9}")


class InvalidBirthCertificate(ValueError):
    """Not a birth-certificate number of the national form."""


def normalise_birth_certificate(raw: str) -> str:
    number = str(raw).strip().upper()
    if not _CERT_SHAPE.fullmatch(number):
        raise InvalidBirthCertificate("must be one letter and nine digits (出生医学证明编号)")
    return number


def mask_birth_certificate(number: str) -> str:
    """`Q330123456` -> `Q*****3456`."""
    normalised = normalise_birth_certificate(number)
    return f"{normalised[0]}{'*' * 5}{normalised[-4:]}"


def mask_name(name: str) -> str:
    """`王小明` -> `王**`: the surname a caseworker recognises, never the whole name."""
    name = str(name or "").strip()
    return f"{name[:1]}{'*' * max(len(name) - 1, 1)}" if name else ""


# Digit look-arounds instead of \b: CJK characters are word characters, so \b never fires between
# "电话" and "138...". Unicode \d and the full-width 1, 3-9 and X catch numbers typed on Chinese IMEs.
_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}(?:\d(?!\d)|[Xx\uFF38\uFF58]))")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)((?:\+86|0086)[ -]?)?([1\uFF11][3-9\uFF13-\uFF19]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)")


# Whole tokens only: machine-written text is full of hex ids, and a UUID such as "…a138-7881-4028-…"
# holds what `mask_text` (rightly, for typed text) treats as a spaced-out phone number.
_ID_TOKEN = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_CERT_TOKEN = re.compile(r"(?<![0-9A-Za-z_])([A-Za-z])\d{5}(\d{4})(?![0-9A-Za-z])")
_PHONE_TOKEN = re.compile(r"(?<![0-9A-Za-z+])(?:\+86|0086)?1[3-9]\d{9}(?![0-9A-Za-z])")


def find_personal_data(text: str) -> list[str]:
    """Every ID number (GB 11643, valid checksum), mobile and birth-certificate number in the clear in
    machine-written text (logs, event bodies): what a privacy check looks for."""
    ids = [m[0] for m in _ID_TOKEN.finditer(text) if is_valid_id_number(m[0])]
    phones = [m[0] for m in _PHONE_TOKEN.finditer(text)]
    certificates = [m[0] for m in _CERT_TOKEN.finditer(text)]
    return ids + phones + certificates


def mask_text(text: str) -> str:
    """Mask every ID number, mobile number and birth-certificate number found anywhere in free text."""
    # IDs first: an ID contains 11-digit runs that would otherwise be half-masked as a phone.
    masked = _ID_IN_TEXT.sub(lambda m: f"{m[1]}{'*' * 8}{m[2]}", text)
    masked = _PHONE_IN_TEXT.sub(lambda m: f"{m[1] or ''}{m[2]}****{m[3]}", masked)
    return _CERT_TOKEN.sub(lambda m: f"{m[1]}{'*' * 5}{m[2]}", masked)


# a password in a URL: nameko redacts only the first address of a broker failover list ("a;b;c")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s;]*:)[^@\s;/]+@", re.IGNORECASE)


def mask_url_passwords(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1********@", text)


class PiiLogFilter(logging.Filter):
    """Masks ID and phone numbers in a record's message, exception and stack text, and URL passwords in
    its message.

    Attach it to handlers: a filter on a logger does not see records from its child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_url_passwords(mask_text(_render_message(record)))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _render_message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):
        # A bad format string must not make logging raise, nor let the raw args escape unmasked.
        return f"{record.msg!s} {record.args!r}"


# --- Keys, pseudonyms and blind indexes ----------------------------------------------------------


def _derive_key(secret: str, purpose: bytes) -> bytes:
    if not secret:
        raise ValueError("PII secret must not be empty")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"newcitizen-pii/" + purpose)
    return hkdf.derive(secret.encode("utf-8"))


@dataclass(frozen=True)
class PiiKeys:
    """32-byte keys for HMAC pseudonyms and field encryption."""

    hmac_key: bytes = field(repr=False)
    encryption_key: bytes = field(repr=False)

    @classmethod
    def from_config(cls, hmac_key: str, encryption_key: str) -> PiiKeys:
        """Derive keys from text secrets of any length."""
        # Distinct HKDF labels keep the two keys independent even if an operator reuses one secret.
        return cls(
            hmac_key=_derive_key(hmac_key, b"hmac/v1"),
            encryption_key=_derive_key(encryption_key, b"field-encryption/v1"),
        )


DEV_KEYS = PiiKeys.from_config("dev-only-hmac-key", "dev-only-encryption-key")


def resident_id(id_number: str, keys: PiiKeys) -> str:
    """Stable pseudonym for a person, shared across services: `r_` + 32 hex chars."""
    digest = hmac.new(keys.hmac_key, normalise_id_number(id_number).encode("ascii"), hashlib.sha256)
    return "r_" + digest.hexdigest()[:32]


def resident_id_from_birth_certificate(number: str, keys: PiiKeys) -> str:
    """The pseudonym of a newborn known only by the birth certificate (the message cannot be an ID number's:
    those are digits only)."""
    message = f"birth_certificate:{normalise_birth_certificate(number)}".encode("ascii")
    return "r_" + hmac.new(keys.hmac_key, message, hashlib.sha256).hexdigest()[:32]


def blind_index(value: str, keys: PiiKeys, purpose: str) -> str:
    """Keyed hash for exact-match lookup of an encrypted value; callers normalise `value` first."""
    # A colon in the purpose would let ("a:b", "c") and ("a", "b:c") collide.
    if not purpose or ":" in purpose:
        raise ValueError("purpose must be non-empty and contain no ':'")
    message = f"{purpose}:{value}".encode()
    return hmac.new(keys.hmac_key, message, hashlib.sha256).hexdigest()


# --- Field encryption ----------------------------------------------------------------------------

_TOKEN_VERSION = b"\x01"
_BOUND_VERSION = b"\x02"  # the token is bound to a subject (a resident id) as associated data
_NONCE_BYTES = 12
_TAG_BYTES = 16


class FieldCipher:
    """AES-256-GCM encryption of individual text fields into url-safe tokens.

    A token made with `bound_to` (the resident the value belongs to) decrypts only when the same subject is
    given again: copied onto another resident's event or row, it fails like a tampered one. A reader that
    names a subject refuses an unbound token, so an old unbound ciphertext cannot be passed off either.
    """

    def __init__(self, keys: PiiKeys) -> None:
        self._aead = AESGCM(keys.encryption_key)

    def encrypt(self, plaintext: str, bound_to: str | None = None) -> str:
        """Encrypt under a fresh random nonce: base64url(version | nonce | ciphertext+tag)."""
        nonce = os.urandom(_NONCE_BYTES)
        version = _TOKEN_VERSION if bound_to is None else _BOUND_VERSION
        # The version byte is authenticated so it cannot be swapped to steer a future decoder.
        ciphertext = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _associated(version, bound_to))
        return base64.urlsafe_b64encode(version + nonce + ciphertext).decode("ascii")

    def decrypt(self, token: str, bound_to: str | None = None) -> str:
        """Decrypt a token from `encrypt` with the same `bound_to`, or raise DecryptionError."""
        try:
            raw = base64.urlsafe_b64decode(token)
        except ValueError as exc:
            raise DecryptionError("token is not base64") from exc
        if len(raw) < 1 + _NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("token is too short")
        version, nonce, ciphertext = raw[:1], raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        if version not in (_TOKEN_VERSION, _BOUND_VERSION):
            raise DecryptionError("unknown token version")
        if (version == _BOUND_VERSION) != (bound_to is not None):
            raise DecryptionError("token is bound to a subject" if bound_to is None else "token is not bound")
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, _associated(version, bound_to))
        except InvalidTag as exc:
            raise DecryptionError("token was tampered with, or made under another key or for another subject") from exc
        return plaintext.decode("utf-8")


def _associated(version: bytes, bound_to: str | None) -> bytes:
    return version if bound_to is None else version + bound_to.encode("utf-8")
