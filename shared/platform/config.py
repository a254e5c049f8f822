"""Service configuration: YAML files with nameko's `${VAR:default}` substitution.

`nameko run --config` expands the same syntax, so tools outside a container (migrations, topology,
the ops CLI) load a service's config through here and see exactly what the running service sees.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from nameko.cli.main import IMPLICIT_ENV_VAR_MATCHER, env_var_constructor

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("housing", "insurance", "events", "notify", "stats")


class ConfigLoader(yaml.SafeLoader):
    """nameko's `${VAR:default}` expansion on a loader of our own: nameko's `setup_yaml_parser` registers it
    on `yaml.SafeLoader` itself, after which every `yaml.safe_load` in the process (a compose file read by a
    test, say) expanded variables too."""


ConfigLoader.add_constructor("!env_var", env_var_constructor)
ConfigLoader.add_implicit_resolver("!env_var", IMPLICIT_ENV_VAR_MATCHER, None)


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=ConfigLoader) or {}  # noqa: S506 (a SafeLoader subclass)


def config_path(service: str) -> Path:
    return REPO_ROOT / "services" / service / "config.yaml"


def load_service_config(service: str) -> dict[str, Any]:
    return load_yaml(config_path(service))


class ConfigurationError(RuntimeError):
    """A setting that the service cannot run with; the message names it (never its value)."""


def is_production(config: dict[str, Any]) -> bool:
    return str(config.get("ENV", "development")).lower() == "production"
