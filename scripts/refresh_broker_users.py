"""Rewrite the regexes in deploy/k8s/base/broker-users.yaml from shared/platform/broker_access.py.

The base is plain YAML an operator reads; the permissions in it are derived from the topology and the event
contracts, and tests/deploy/test_k8s.py fails when they drift. After a change that adds an event type, a
consumer or a queue, run `python scripts/refresh_broker_users.py` and commit the diff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from shared.platform.broker_access import permissions, username

BASE = Path(__file__).resolve().parent.parent / "deploy" / "k8s" / "base" / "broker-users.yaml"


def refreshed(text: str) -> str:
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    documents = [doc for doc in yaml.safe_load_all(text) if doc]
    expected = {username(identity): granted for identity, granted in permissions().items()}
    topics = {
        (name, on.exchange): {"exchange": on.exchange, "write": on.write, "read": on.read}
        for name, granted in expected.items()
        for on in granted.topics
    }
    kept = []
    for doc in documents:
        spec = doc["spec"]
        if doc["kind"] == "Permission":
            granted = expected[spec["userReference"]["name"]]
            spec["permissions"] = {"configure": granted.configure, "write": granted.write, "read": granted.read}
        elif doc["kind"] == "TopicPermission":
            key = (spec["userReference"]["name"], spec["permissions"]["exchange"])
            if key not in topics:
                continue  # a grant the code no longer makes
            spec["permissions"] = topics.pop(key)
        kept.append(doc)
    if topics:  # a new (identity, exchange) grant: written like its siblings
        template = next(doc for doc in documents if doc["kind"] == "TopicPermission")
        for (name, exchange), granted in sorted(topics.items()):
            doc = yaml.safe_load(yaml.safe_dump(template))
            doc["metadata"]["name"] = f"{name}-{exchange.replace('.', '-')}"
            doc["metadata"]["labels"]["app.kubernetes.io/name"] = name
            doc["spec"]["userReference"]["name"] = name
            doc["spec"]["permissions"] = granted
            kept.append(doc)
    body = "---\n".join(yaml.safe_dump(doc, sort_keys=False, width=100_000, allow_unicode=True) for doc in kept)
    return header + body


if __name__ == "__main__":
    text = BASE.read_text()
    new = refreshed(text)
    if "--check" in sys.argv[1:]:
        sys.exit(0 if new == text else f"{BASE} is out of date: run python scripts/refresh_broker_users.py")
    BASE.write_text(new)
