"""Shared readers for the deployment files: every manifest, rule and dashboard as parsed data."""

import json
import re
import shutil
import subprocess
from functools import cache
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


METRIC = re.compile(r"\b((?:newcitizen|rabbitmq)_[a-z0-9_]+|up)\b(?:\{([^}]*)\})?")


def alert_expressions(alert_rules) -> dict[str, str]:
    return {rule["alert"]: rule["expr"] for group in alert_rules["groups"] for rule in group["rules"]}


def dashboard_expressions(dashboard) -> dict[str, str]:
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    }


def metric_matches(expr: str) -> list[re.Match]:
    """Every metric selector an expression reads (`up` only where it is the metric, not part of a word)."""
    return [
        match
        for match in METRIC.finditer(expr)
        if match.group(1) != "up" or expr[match.end() : match.end() + 1] in ("{", "", " ", ")")
    ]


def selectors(expr: str) -> list[str]:
    """The selectors as written (name and matchers), each a PromQL query of its own."""
    return [match.group(0) for match in metric_matches(expr)]


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


OVERLAYS = sorted(path.name for path in (K8S / "overlays").iterdir() if (path / "kustomization.yaml").exists())


@cache
def kustomize(path: Path) -> list[dict]:
    """What `kubectl apply -k <path>` would apply: `kubectl kustomize`'s build, one dict a document."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed: the Kubernetes install is built with `kubectl kustomize`")
    run = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return [doc for doc in yaml.load_all(run.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if doc]


@pytest.fixture(scope="session", params=OVERLAYS)
def k8s_overlay(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def k8s_documents(k8s_overlay) -> list[dict]:
    """Every document one overlay applies (deploy/k8s/overlays/<name>), as kustomize builds it."""
    return kustomize(K8S / "overlays" / k8s_overlay)


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")
