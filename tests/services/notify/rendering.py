"""Every notice notify sends, rendered through the templates its migrations seed: each event kind's sample,
then the same event with each reason code its contract allows, then with a reviewer's note for the resident.

The golden file `golden/notices.txt` holds the result for a person to read. After changing a template, a
wording or a sample, regenerate it and read the diff by hand before committing:

    make golden    # .venv/bin/python -m tests.services.notify.rendering --write
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from marshmallow import fields
from sqlalchemy.orm import Session

from services.notify import catalogue, subscriptions
from services.notify.templating import render
from shared.platform.contracts import load_all, reason_fields
from shared.platform.db import make_engine
from tests.services.notify.samples import NOTICES, loaded
from tests.support.databases import migrate

GOLDEN = Path(__file__).parent / "golden" / "notices.txt"
NOTE = "请携带居住证原件到办理窗口补交材料"
BROADCAST = ("notify", "policy_notice")  # the one template no event fills: a broadcast's
BROADCAST_TITLE = "2025年公租房租赁补贴申请开始受理"


def current_bodies() -> dict[str, str]:
    """{template_id: body} of each template's current version, from a database the migrations just built."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/notify.db"
        migrate("notify", url)
        engine = make_engine(url)
        with Session(engine) as session:
            bodies = {template.template_id: template.body for template in catalogue.current_versions(session)}
        engine.dispose()
    return bodies


def variants() -> Iterator[tuple[str, tuple[str, str], dict]]:
    """(label, event kind, contract-valid data) for every text notify can send about an event."""
    registry = load_all()
    for kind, (data, _) in NOTICES.items():
        label = ".".join(kind)
        yield label, kind, data
        schema = registry.latest(*kind).loader()
        for name, codes in reason_fields(registry.latest(*kind)).items():
            for code in codes:
                value = [code] if isinstance(schema.fields[name], fields.List) else code
                changed = {name: value}
                if name == "eligibility_reasons":  # the rules behind a failed re-check
                    changed["reason"] = "no_longer_eligible"
                yield f"{label} {name}={code}", kind, {**data, **changed}
        if "note_for_resident" in schema.fields:
            yield f"{label} note_for_resident", kind, {**data, "note_for_resident": NOTE}


def rendered(bodies: dict[str, str]) -> dict[str, str]:
    """{label: the SMS as billed (signature included)} for every variant, and the broadcast template."""
    texts = {}
    for label, kind, data in variants():
        notice = subscriptions.NOTICES[kind]
        texts[label] = render(bodies[notice.template], notice.personalise(loaded(*kind, data))).body
    texts[".".join(BROADCAST)] = render(bodies[BROADCAST[1]], {"title": BROADCAST_TITLE}).body
    return texts


def golden_text(texts: dict[str, str]) -> str:
    return "".join(f"{label}\n    {text}\n" for label, text in texts.items())


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.services.notify.rendering --write")
    GOLDEN.write_text(golden_text(rendered(current_bodies())), encoding="utf-8")
    print(f"wrote {GOLDEN}; read the diff before committing")
