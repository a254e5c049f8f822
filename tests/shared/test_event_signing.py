"""Signed events and bound ciphertexts: an event is its source's only under its source's key, and a
resident's encrypted phone opens only for that resident."""

import json
import os
import re
import subprocess
import sys

import pytest

from shared.platform.event_signing import (
    SIGNATURE_HEADER,
    EventSigner,
    EventVerifier,
    SignatureRejected,
    dev_signing_key,
    keygen,
)
from shared.platform.personal_data import DEV_KEYS, DecryptionError, FieldCipher
from shared.platform.secret_settings import secret_problems
from shared.platform.token_keys import KeyFormatError

BODY = json.dumps({"source": "housing", "event_type": "subsidy_approved", "data": {"amount": 600}})


def production_set(*services: str) -> tuple[dict[str, str], str]:
    """A signing key per service and the public set every consumer holds, as an operator makes them."""
    pairs = {service: keygen(service, "2026-12") for service in services}
    return {service: signing for service, (signing, _public) in pairs.items()}, ",".join(
        public for _signing, public in pairs.values()
    )


def test_an_event_verifies_under_its_sources_key_and_nothing_else_does():
    signing, public = production_set("housing", "stats")
    verifier = EventVerifier.from_config({"EVENT_PUBLIC_KEYS": public, "ENV": "production"})
    housing = EventSigner.for_service("housing", {"EVENT_SIGNING_KEY": signing["housing"]})
    stats = EventSigner.for_service("stats", {"EVENT_SIGNING_KEY": signing["stats"]})

    verifier.verify(BODY.encode(), {SIGNATURE_HEADER: housing.sign(BODY)}, "housing")

    with pytest.raises(SignatureRejected, match="a key of 'stats', not of 'housing'"):
        verifier.verify(BODY, {SIGNATURE_HEADER: stats.sign(BODY)}, "housing")
    with pytest.raises(SignatureRejected, match="does not match the body"):
        verifier.verify(BODY.replace("600", "6000"), {SIGNATURE_HEADER: housing.sign(BODY)}, "housing")
    with pytest.raises(SignatureRejected, match="unsigned"):
        verifier.verify(BODY, {}, "housing")
    with pytest.raises(SignatureRejected, match="not in EVENT_PUBLIC_KEYS"):
        verifier.verify(BODY, {SIGNATURE_HEADER: EventSigner(dev_signing_key("housing")).sign(BODY)}, "housing")
    garbled = housing.sign(BODY)[:-8] + "!!!!!!!!"
    with pytest.raises(SignatureRejected, match="does not match"):
        verifier.verify(BODY, {SIGNATURE_HEADER: garbled}, "housing")


def test_outside_production_every_source_has_its_published_development_key():
    verifier = EventVerifier.from_config({})
    signer = EventSigner.for_service("sampler", {})
    verifier.verify(BODY, {SIGNATURE_HEADER: signer.sign(BODY)}, "sampler")
    with pytest.raises(SignatureRejected, match="a key of 'sampler', not of 'housing'"):
        verifier.verify(BODY, {SIGNATURE_HEADER: signer.sign(BODY)}, "housing")


def test_a_service_signs_only_with_a_key_of_its_own_and_production_refuses_the_development_keys():
    signing, public = production_set("housing")
    with pytest.raises(KeyFormatError, match="not one of stats's"):
        EventSigner.for_service("stats", {"EVENT_SIGNING_KEY": signing["housing"]})
    with pytest.raises(RuntimeError, match="EVENT_SIGNING_KEY must be set in production"):
        EventSigner.for_service("housing", {"ENV": "production"})
    with pytest.raises(RuntimeError, match="EVENT_PUBLIC_KEYS must be set in production"):
        EventVerifier.from_config({"ENV": "production"})

    development = dev_signing_key("housing").setting()
    problems = secret_problems({"EVENT_SIGNING_KEY": development, "EVENT_PUBLIC_KEYS": public})
    assert problems == ["EVENT_SIGNING_KEY is a development or example value"]
    assert secret_problems({"EVENT_SIGNING_KEY": "", "EVENT_PUBLIC_KEYS": ""}) == [
        "EVENT_SIGNING_KEY, EVENT_PUBLIC_KEYS not set (event signing is in use and needs EVENT_SIGNING_KEY and "
        "EVENT_PUBLIC_KEYS)"
    ]


def test_a_ciphertext_bound_to_one_resident_does_not_open_for_another():
    cipher = FieldCipher(DEV_KEYS)
    token = cipher.encrypt("13812345678", bound_to="r_" + "a" * 32)

    assert cipher.decrypt(token, bound_to="r_" + "a" * 32) == "13812345678"
    with pytest.raises(DecryptionError, match="for another subject"):
        cipher.decrypt(token, bound_to="r_" + "b" * 32)
    with pytest.raises(DecryptionError, match="bound to a subject"):
        cipher.decrypt(token)
    with pytest.raises(DecryptionError, match="not bound"):
        cipher.decrypt(cipher.encrypt("13812345678"), bound_to="r_" + "a" * 32)
    assert cipher.decrypt(cipher.encrypt("13812345678")) == "13812345678"


def test_the_operator_command_prints_a_pair_that_signs_and_verifies():
    printed = subprocess.run(
        [sys.executable, "-m", "shared.platform.auth", "keygen-events", "--service", "housing", "--name", "2026-12"],
        capture_output=True, text=True, check=True, env={**os.environ, "ENV": "development"},
    ).stdout  # fmt: skip
    signing = re.search(r"^EVENT_SIGNING_KEY=(\S+)$", printed, re.M).group(1)
    [public] = [line for line in printed.splitlines() if line.startswith("housing.2026-12:")]
    signer = EventSigner.for_service("housing", {"EVENT_SIGNING_KEY": signing})
    EventVerifier.from_config({"EVENT_PUBLIC_KEYS": public}).verify(
        BODY, {SIGNATURE_HEADER: signer.sign(BODY)}, "housing"
    )
    with pytest.raises(KeyFormatError, match="lower-case word"):
        keygen("Housing.x", "2026-12")
