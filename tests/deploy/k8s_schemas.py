"""Every rendered Kubernetes object checked against a schema, unknown fields refused.

The operators' kinds against their CRDs' `openAPIV3Schema`, vendored in deploy/k8s/schemas/ (its README says
from where); the built-in kinds against the Kubernetes OpenAPI schemas kubernetes-validate ships (strict).
The API server prunes or, with `kubectl apply`'s strict field validation, refuses a field a structural schema
does not list, so each object node of a CRD schema is closed (`additionalProperties: false`) unless upstream
keeps unknown fields there (`x-kubernetes-preserve-unknown-fields`) or gives a map's value schema. What the
schemas cannot say (CEL rules, `x-kubernetes-validations`) is the API server's and the operators' business.
"""

from __future__ import annotations

import copy
import re
from functools import cache

import jsonschema
import yaml

from tests.deploy.conftest import K8S

SCHEMAS = K8S / "schemas"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRDs are 1 MB of YAML
KUBERNETES_VERSION = "1.30.0"  # the oldest release the install targets (HPA v2, PDB v1, restricted PSS)
# what the API server accepts in any object's metadata that we write
METADATA = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
EMBEDDED = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


class SchemaErrors(Exception):
    """Every place where one object breaks its schema, each as `path: message`."""

    def __init__(self, kind: str, name: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{kind} {name}: " + "; ".join(problems))


def closed(schema: dict) -> dict:
    """A copy of a CRD schema in which an object takes only the fields it lists, as upstream says."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, list):
            for item in node:
                close(item)
            return
        if not isinstance(node, dict):
            return
        if node.get("type") == "object" and "additionalProperties" not in node:
            if not node.get("x-kubernetes-preserve-unknown-fields"):
                node["additionalProperties"] = False
                if node.get("x-kubernetes-embedded-resource"):
                    node["properties"] = {**EMBEDDED, **node.get("properties", {})}
        for value in node.values():
            close(value)

    close(schema)
    schema["properties"]["metadata"] = METADATA
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict]:
    """{(apiVersion, kind): closed schema} for every served version of every vendored CRD."""
    schemas = {}
    for path in sorted(SCHEMAS.glob("*.yaml")):
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version["served"]:
                schemas[(f"{group}/{version['name']}", kind)] = closed(version["schema"]["openAPIV3Schema"])
    return schemas


def problems_of(validator, doc: dict) -> list[str]:
    errors = sorted(validator.iter_errors(doc), key=lambda error: list(error.absolute_path))
    return [f"{'.'.join(map(str, error.absolute_path)) or '(root)'}: {error.message[:300]}" for error in errors]


def validate(doc: dict) -> None:
    """Raises SchemaErrors listing every bad field of `doc`, or KeyError for a kind without a schema."""
    kind, name = doc["kind"], doc["metadata"]["name"]
    schema = crd_schemas().get((doc["apiVersion"], kind))
    if schema is not None:
        # OpenAPI 3.0's schema object is JSON Schema draft 4's vocabulary (boolean exclusiveMinimum and all)
        problems = problems_of(jsonschema.Draft4Validator(schema), doc)
    else:
        problems = builtin_problems(doc)
    if problems:
        raise SchemaErrors(kind, name, problems)


@cache
def builtin_validator(api_version: str, kind: str):
    """kubernetes-validate's strict schema for a built-in kind, all of whose errors we want, not the first."""
    from kubernetes_validate.utils import schema_contents
    from referencing import Registry, Resource

    folder = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # networking.k8s.io/v1 -> networking-v1
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group}.json", KUBERNETES_VERSION)
    except FileNotFoundError:
        raise KeyError(f"no schema for {api_version} {kind}") from None
    definitions = Resource.from_contents(schema_contents(f"{folder}/_definitions.json", KUBERNETES_VERSION))
    registry = definitions @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def builtin_problems(doc: dict) -> list[str]:
    return problems_of(builtin_validator(doc["apiVersion"], doc["kind"]), doc)


def rabbitmq_settings() -> list[re.Pattern]:
    """The keys rabbitmq.conf may hold on the vendored release (its schemas' mappings; `$name` is any word)."""
    keys = [key for path in sorted(SCHEMAS.glob("*.schema"))
            for key in re.findall(r'^\{mapping,\s*"([^"]+)"', path.read_text(encoding="utf-8"), re.M)]  # fmt: skip
    return [re.compile(r"[^.\s]+".join(map(re.escape, re.split(r"\$\w+", key))) + r"\Z") for key in keys]


def rabbitmq_conf_keys(conf: str) -> list[str]:
    return [line.split("=", 1)[0].strip() for line in conf.splitlines() if line.strip() and "=" in line
            and not line.lstrip().startswith("#")]  # fmt: skip
