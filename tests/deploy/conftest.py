"""Shared readers for the deployment files: every manifest, rule and dashboard as parsed data."""

import json
import re
from pathlib import Path

import pytest
import yaml

from shared.platform.config import REPO_ROOT, SERVICES, config_path

DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"


def config_variables(service: str) -> set[str]:
    """The environment variables a service's config.yaml reads (`${VAR:default}`)."""
    return set(re.findall(r"\$\{([A-Z0-9_]+):", config_path(service).read_text(encoding="utf-8")))


def secret_variables(service: str) -> set[str]:
    """The environment variables behind the service's secret settings (`shared.platform.secret_settings`) that fall
    back to a development default: a production install must give each, or the service refuses to start."""
    from shared.platform.secret_settings import GROUPS

    secrets = {key for group in GROUPS for key in group.minimums}
    text = config_path(service).read_text(encoding="utf-8")
    return {var for key, var in re.findall(r"^(\w+): \$\{(\w+):[^}]+\}$", text, re.M) if key in secrets}


def platform_variables() -> set[str]:
    return set().union(*(config_variables(service) for service in SERVICES))


def load_yaml_documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def alert_rules() -> dict:
    return yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def dashboard() -> dict:
    return json.loads((DEPLOY / "grafana" / "dashboards" / "newcitizen.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def k8s_documents() -> list[dict]:
    """Every document kustomization.yaml applies, in its order."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    documents = []
    for resource in kustomization["resources"]:
        documents += load_yaml_documents(K8S / resource)
    return documents


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")
