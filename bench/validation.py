"""What checking one event costs a consumer, by way of checking it (issue 21, item 3).

    .venv/bin/python -m bench.validation [--repeats 5] [--number 500]

Per message, in microseconds of this process's CPU time (the best of `--repeats` timings: waiting for a core
costs none, and the best is the run least disturbed by a loaded machine's cache and scheduler), for the
envelopes stats receives per approval (notify's two notification events, housing's submission and approval):
* baseline: `json.loads` of the body, which kombu does once per message whatever follows;
* `validate_envelope` as it was: a new `EnvelopeSchema` per message, the contract's schema instance reused;
* both schema instances built once, `Schema.load`;
* the data validated per batch of 50 with `many=True` (the envelope still per message);
* `validate_envelope` now: both precompiled (`shared.platform.compiled_schema`: each field's `deserialize` called
  directly, skipping `Schema.load`'s machinery; `Schema.load` again when anything is refused);
* a new contract schema per archived envelope (stats' `archive_body` as it was) against the cached one.
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import timeit  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from bench.results import load_average, save  # noqa: E402
from shared.platform.contracts import EnvelopeSchema, build_envelope, load_all, registry, validate_envelope  # noqa: E402

BATCH = 50


def samples() -> list[dict]:
    load_all()
    now = datetime.now(UTC)
    case = {"application_id": "a" * 32, "resident_id": "r" * 32, "town": "宗汉街道", "category": "talent"}
    notice = {
        "notification_id": "n" * 36,
        "resident_id": "r" * 32,
        "template_id": "subsidy_approved",
        "template_version": 1,
        "channel": "sms",
        "kind": "transactional",
        "segments": 1,
        "source_event_id": "e" * 36,
    }
    return [
        build_envelope(
            "housing",
            "subsidy_application_submitted",
            {
                **case,
                "household_size": 3,
                "status": "submitted",
                "reasons": [],
                "submitted_at": now.isoformat(),
            },
        ),  # fmt: skip
        build_envelope(
            "housing",
            "subsidy_approved",
            {
                **case,
                "household_size": 3,
                "monthly_subsidy_fen": 80000,
                "approved_at": now.isoformat(),
                "policy_ref": "2026-v1",
            },
        ),  # fmt: skip
        build_envelope("notify", "notification_sent", {**notice, "sent_at": now.isoformat()}),
        build_envelope("notify", "notification_delivered", {**notice, "delivered_at": now.isoformat()}),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--number", type=int, default=500)
    args = parser.parse_args()
    load_before = load_average()
    bodies = [json.dumps(envelope) for envelope in samples()]
    decoded = [json.loads(body) for body in bodies]
    contracts = [registry.get(e["source"], e["event_type"], e["version"]) for e in decoded]
    envelope_schema = EnvelopeSchema()

    def per_message(function, messages: int = len(bodies)) -> float:
        runs = timeit.repeat(function, number=args.number, repeat=args.repeats, timer=time.process_time)
        return 1e6 * min(runs) / args.number / messages

    def as_it_was():
        for body, contract in zip(decoded, contracts, strict=True):
            envelope = EnvelopeSchema().load(body)
            contract.loader().load(envelope["data"])

    def hoisted():
        for body, contract in zip(decoded, contracts, strict=True):
            envelope = envelope_schema.load(body)
            contract.loader().load(envelope["data"])

    def now():
        for body in decoded:
            validate_envelope(body)

    def many():  # a batch of BATCH copies of each message
        for body, contract in zip(decoded, contracts, strict=True):
            envelopes = [envelope_schema.load(body) for _ in range(BATCH)]
            contract.loader().load([envelope["data"] for envelope in envelopes], many=True)

    loaded = [contract.loader().load(body["data"]) for body, contract in zip(decoded, contracts, strict=True)]

    def dump_new_schema():
        for data, contract in zip(loaded, contracts, strict=True):
            contract.schema().dump(data)

    def dump_cached():
        for data, contract in zip(loaded, contracts, strict=True):
            contract.loader().dump(data)

    for body in decoded:
        envelope, data = validate_envelope(body)
        assert data == registry.get(envelope["source"], envelope["event_type"], envelope["version"]).loader().load(
            body["data"]
        )

    figures = {
        "json.loads of the body (baseline)": per_message(lambda: [json.loads(body) for body in bodies]),
        "validate_envelope, a new EnvelopeSchema per message (before)": per_message(as_it_was),
        "schemas built once, Schema.load": per_message(hoisted),
        f"envelope per message, data per batch of {BATCH} (many=True)": per_message(many, BATCH * len(bodies)),
        "validate_envelope, precompiled (now)": per_message(now),
        "archive dump, a new contract schema per envelope (before)": per_message(dump_new_schema),
        "archive dump, the contract's cached schema (now)": per_message(dump_cached),
    }
    table = Table(title=f"µs per message (best of {args.repeats}); load {load_before} → {load_average()}")
    table.add_column("way")
    table.add_column("µs", justify="right")
    for way, micros in figures.items():
        table.add_row(way, f"{micros:.1f}")
    Console().print(table)
    save("validation", {"load": [load_before, load_average()], "microseconds_per_message": figures})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
