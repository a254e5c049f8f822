"""Service configuration: YAML files with nameko's `${VAR:default}` substitution.

`nameko run --config` expands the same syntax, so tools outside a container (migrations, topology,
the ops CLI) load a service's config through here and see exactly what the running service sees.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from nameko.cli.main import setup_yaml_parser

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("housing", "insurance", "events", "notify", "stats")

_parser_ready = False


def load_yaml(path: str | os.PathLike) -> dict[str, Any]:
    global _parser_ready
    if not _parser_ready:
        setup_yaml_parser()
        _parser_ready = True
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def config_path(service: str) -> Path:
    return REPO_ROOT / "services" / service / "config.yaml"


def load_service_config(service: str) -> dict[str, Any]:
    return load_yaml(config_path(service))


def is_production(config: dict[str, Any]) -> bool:
    return str(config.get("ENV", "development")).lower() == "production"
