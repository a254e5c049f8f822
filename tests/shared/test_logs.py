"""With LOG_FORMAT=json a service logs one JSON object a line, with its name, the level, the call id, the
correlation id and the case id; an ID number or phone logged by mistake is masked. Plain text stays the
default."""

import json
import logging
import logging.config

import pytest
from nameko.testing.services import entrypoint_hook

from shared.platform.config import load_service_config
from shared.platform.db import Database
from shared.platform.rpc import rpc
from shared.platform.service import PlatformService
from tests.support.residents import id_number, phone

log = logging.getLogger("tests.chatty")


class ChattyService(PlatformService):
    name = "chatty"
    db = Database()

    @rpc
    def review(self, application_id, note):
        log.warning("reviewing, note: %s", note)  # the mistake: a note with personal data in it

    @rpc
    def register(self, payload):
        log.info("registering")


@pytest.fixture
def service_logging(monkeypatch, capsys):
    """The real LOGGING of housing's config.yaml, with the environment given; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    def configure(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        logging.config.dictConfig(load_service_config("housing")["LOGGING"])
        capsys.readouterr()

    yield configure
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_json_lines_carry_the_context_and_no_personal_data(
    service_logging, capsys, container_factory, service_config, sqlite_url
):
    service_logging(LOG_FORMAT="json")
    container = container_factory(ChattyService, service_config(sqlite_url))
    container.start()
    number, mobile = id_number(), phone()
    with entrypoint_hook(container, "review", context_data={"correlation_id": "corr-1"}) as review:
        review("app-42", f"applicant {number}, phone {mobile}")
    with entrypoint_hook(container, "register") as register:
        register({"activity_id": "act-7", "id_number": number})

    records = [json.loads(line) for line in lines(capsys)]  # every line is one JSON object
    [reviewing] = [r for r in records if r["message"].startswith("reviewing")]
    assert reviewing["service"] == "housing" and reviewing["level"] == "WARNING"
    assert reviewing["call_id"].startswith("chatty.review.")
    assert reviewing["correlation_id"] == "corr-1" and reviewing["case_id"] == "app-42"
    assert number not in reviewing["message"] and mobile not in reviewing["message"]
    assert number[:6] + "********" + number[-4:] in reviewing["message"]
    [registering] = [r for r in records if r["message"] == "registering"]
    assert registering["case_id"] == "act-7"
    assert registering["correlation_id"] == registering["call_id"]  # no caller's: the root of the call stack
    assert all(number not in json.dumps(r) for r in records)


def test_lines_outside_a_worker_carry_the_service_only(service_logging, capsys):
    service_logging(LOG_FORMAT="json")
    logging.getLogger("tests.outside").warning("no worker here")
    [record] = [json.loads(line) for line in lines(capsys)]
    assert record["service"] == "housing" and record["call_id"] is None and record["case_id"] is None


def test_plain_text_is_the_default(service_logging, capsys, monkeypatch):
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    service_logging()
    number = id_number()
    logging.getLogger("tests.outside").warning("for %s", number)
    [line] = lines(capsys)
    assert " housing WARNING tests.outside: for " in line and number not in line
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)
