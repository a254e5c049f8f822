"""Render the per-service Kubernetes manifests, so the five services cannot drift apart.

    python deploy/k8s/render.py           # rewrite deploy/k8s/generated/*.yaml
    python deploy/k8s/render.py --check   # exit 1 if a generated file is stale (run by the tests)

Edit the SERVICES table or the builders here, never the generated files. The hand-written manifests
(broker, database, config, namespace policies, monitors) sit beside this file.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
DEPLOY = HERE.parent
sys.path.insert(0, str(DEPLOY.parent))  # run as a script: the broker permissions come from the platform's code
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # imported with nameko, unused here
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from shared.platform.broker_access import IDENTITIES, OPS, TOPOLOGY, permissions, username  # noqa: E402

OUT = HERE / "generated"

NAMESPACE = "newcitizen"
IMAGE = "newcitizen/platform:0.1.0"  # kustomization.yaml's `images:` sets the real registry and tag
HTTP_PORT = 8000
RABBIT = "newcitizen-rabbitmq"
RABBIT_NODES = 3  # rabbitmq.yaml's replicas: the operator names the pods <cluster>-server-0..2 behind <cluster>-nodes
PG = "newcitizen-pg"
PART_OF = {"app.kubernetes.io/part-of": "newcitizen"}

# name: replicas (HPA min..max), requests, limits. Sized for Cixi (tens of thousands of cases a year,
# 112,041 broadcast recipients); notify and stats do the bulk of the event work.
SERVICES = {
    "housing": {"min": 2, "max": 6, "cpu": "200m", "memory": "256Mi", "cpu_limit": "1", "memory_limit": "512Mi"},
    "insurance": {"min": 2, "max": 4, "cpu": "100m", "memory": "192Mi", "cpu_limit": "1", "memory_limit": "512Mi"},
    "events": {"min": 2, "max": 6, "cpu": "100m", "memory": "192Mi", "cpu_limit": "1", "memory_limit": "512Mi"},
    "notify": {"min": 2, "max": 10, "cpu": "300m", "memory": "256Mi", "cpu_limit": "2", "memory_limit": "768Mi"},
    "stats": {"min": 2, "max": 6, "cpu": "200m", "memory": "256Mi", "cpu_limit": "1", "memory_limit": "768Mi"},
}
CPU_TARGET = {"type": "Utilization", "averageUtilization": 70}
PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def labels(name: str, component: str) -> dict:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/component": component, **PART_OF}


def secret_env(name: str, secret: str, key: str) -> dict:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def broker_addresses() -> str:
    """kombu's failover list, one address per node, as the cluster suite (tests/cluster) runs: a client
    that loses its node connects to the next one itself, without waiting for the Service to re-route."""
    credentials = "$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)"
    return ";".join(
        f"pyamqp://{credentials}@{RABBIT}-server-{index}.{RABBIT}-nodes.{NAMESPACE}.svc:5672/"
        for index in range(RABBIT_NODES)
    )


def broker_secret(identity: str) -> str:
    return f"newcitizen-broker-{identity}"


def broker_env(identity: str) -> list[dict]:
    # the identity's own broker user (broker-users.yaml), never the operator's `<cluster>-default-user`
    # administrator; Kubernetes expands $(VAR) in order
    return [
        secret_env("RABBITMQ_USERNAME", broker_secret(identity), "username"),
        secret_env("RABBITMQ_PASSWORD", broker_secret(identity), "password"),
        {"name": "AMQP_URI", "value": broker_addresses()},
    ]


def broker_user(identity: str) -> list[dict]:
    """The messaging-topology operator's User (credentials imported from the identity's Secret), its
    Permission on the vhost and its TopicPermissions, the regexes generated from the topology by
    shared/platform/broker_access.py."""
    name = username(identity)
    cluster = {"name": RABBIT}
    granted = permissions()[identity]
    metadata = {"name": name, "namespace": NAMESPACE, "labels": labels(name, "broker-user")}
    return [
        {
            "apiVersion": "rabbitmq.com/v1beta1",
            "kind": "User",
            "metadata": metadata,
            "spec": {
                "tags": [],
                "rabbitmqClusterReference": cluster,
                "importCredentialsSecret": {"name": broker_secret(identity)},
            },
        },
        {
            "apiVersion": "rabbitmq.com/v1beta1",
            "kind": "Permission",
            "metadata": metadata,
            "spec": {
                "vhost": "/",
                "userReference": {"name": name},
                "permissions": {"configure": granted.configure, "write": granted.write, "read": granted.read},
                "rabbitmqClusterReference": cluster,
            },
        },
        *(topic_permission(identity, on) for on in granted.topics),
    ]


def topic_permission(identity: str, on) -> dict:
    """The routing keys `identity` may publish (write) and bind (read) with on one topic exchange."""
    name = f"{username(identity)}-{on.exchange.replace('.', '-')}"
    return {
        "apiVersion": "rabbitmq.com/v1beta1",
        "kind": "TopicPermission",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(username(identity), "broker-user")},
        "spec": {
            "vhost": "/",
            "userReference": {"name": username(identity)},
            "permissions": {"exchange": on.exchange, "write": on.write, "read": on.read},
            "rabbitmqClusterReference": {"name": RABBIT},
        },
    }


def database_env(service: str) -> list[dict]:
    # one role per service (CloudNativePG managed role, password in `newcitizen-pg-<service>`)
    upper = service.upper()
    return [
        secret_env(f"{upper}_DB_USERNAME", f"{PG}-{service}", "username"),
        secret_env(f"{upper}_DB_PASSWORD", f"{PG}-{service}", "password"),
        {
            "name": f"{upper}_DATABASE_URL",
            "value": f"postgresql://$({upper}_DB_USERNAME):$({upper}_DB_PASSWORD)@{PG}-rw:5432/{service}",
        },
    ]


REVOKED_TOKENS_DIR = "/etc/newcitizen/revoked"
STAFF_REGISTRY_DIR = "/var/lib/newcitizen/staff"


def common_env() -> list[dict]:
    # the issuer's public keys only: the private key is in `newcitizen-token-issuer`, mounted into ops alone
    return [
        secret_env("JWT_PUBLIC_KEYS", "newcitizen-token-keys", "JWT_PUBLIC_KEYS"),
        {"name": "JWT_REVOCATION_LIST", "value": f"{REVOKED_TOKENS_DIR}/tokens"},
        *(secret_env(key, "newcitizen-secrets", key) for key in ("PII_HMAC_KEY", "PII_ENCRYPTION_KEY")),
    ]


def revocation_volume() -> tuple[dict, dict]:
    """The revocation list (ConfigMap `newcitizen-revoked-tokens`), re-read by the services when it changes."""
    volume = {"name": "revoked-tokens", "configMap": {"name": "newcitizen-revoked-tokens", "optional": True}}
    return volume, {"name": "revoked-tokens", "mountPath": REVOKED_TOKENS_DIR, "readOnly": True}


def security_context() -> dict:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "capabilities": {"drop": ["ALL"]},
    }


def pod_security() -> dict:
    return {"runAsNonRoot": True, "fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}}


def scratch_volumes() -> tuple[list[dict], list[dict]]:
    volumes = [{"name": "tmp", "emptyDir": {}}, {"name": "var", "emptyDir": {}}]
    mounts = [{"name": "tmp", "mountPath": "/tmp"}, {"name": "var", "mountPath": "/app/var"}]  # noqa: S108
    return volumes, mounts


NOTIFY_PROVIDER_SECRETS = (
    "ALIYUN_ACCESS_KEY_ID",
    "ALIYUN_ACCESS_KEY_SECRET",
    "ALIYUN_CALLBACK_TOKEN",
    "TENCENT_SECRET_ID",
    "TENCENT_SECRET_KEY",
    "TENCENT_CALLBACK_TOKEN",
    "WECHAT_CALLBACK_KEY",
)


def deployment(name: str, spec: dict) -> dict:
    env = [*common_env(), *broker_env(name), *database_env(name)]
    if name == "notify":
        env.append(secret_env("NOTIFY_SMS_GATEWAY_KEY", "newcitizen-secrets", "SMS_GATEWAY_KEY"))
        # the SMS providers' credentials, the secret path tokens of their receipt pushes and WeChat's receipt
        # key: always from the Secret (empty for a provider not used), as a production start refuses the
        # development defaults that config.yaml would fall back to
        for variable in NOTIFY_PROVIDER_SECRETS:
            env.append(secret_env(f"NOTIFY_{variable}", "newcitizen-secrets", variable))
    volumes, mounts = scratch_volumes()
    volume, mount = revocation_volume()
    volumes, mounts = [*volumes, volume], [*mounts, mount]
    # liveness asks only whether the process answers: a broker or database outage is readiness's business,
    # and restarting the pod fixes neither (nameko reconnects on its own)
    live = {"path": "/livez", "port": "http"}
    ready = {"path": "/readyz", "port": "http"}
    selector = {"app.kubernetes.io/name": name, **PART_OF}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(name, "service")},
        "spec": {
            # no `replicas`: the HorizontalPodAutoscaler owns it (a re-apply would otherwise reset it)
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels(name, "service"),
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(HTTP_PORT)},
                },
                "spec": {
                    "securityContext": pod_security(),
                    "terminationGracePeriodSeconds": 40,  # nameko lets running workers finish on SIGTERM
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector},
                        }
                    ],
                    "initContainers": [
                        {
                            "name": "wait-for-migrations",
                            "image": IMAGE,
                            "command": ["python", "-m", "ops.migrated", name, "--wait", "600"],
                            "envFrom": [{"configMapRef": {"name": "newcitizen-config"}}],
                            "env": [*common_env(), *database_env(name)],
                            "securityContext": security_context(),
                            "volumeMounts": mounts,
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "128Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                        }
                    ],
                    "containers": [
                        {
                            "name": name,
                            "image": IMAGE,
                            "args": [name],
                            "ports": [{"name": "http", "containerPort": HTTP_PORT}],
                            "envFrom": [{"configMapRef": {"name": "newcitizen-config"}}],
                            "env": env,
                            "readinessProbe": {
                                "httpGet": ready,
                                "periodSeconds": 10,
                                "timeoutSeconds": 5,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                "httpGet": live,
                                "periodSeconds": 20,
                                "timeoutSeconds": 5,
                                "failureThreshold": 6,
                            },
                            "startupProbe": {"httpGet": live, "periodSeconds": 5, "failureThreshold": 36},
                            "resources": {
                                "requests": {"cpu": spec["cpu"], "memory": spec["memory"]},
                                "limits": {"cpu": spec["cpu_limit"], "memory": spec["memory_limit"]},
                            },
                            "securityContext": security_context(),
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }


def service(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(name, "service")},
        "spec": {
            "selector": {"app.kubernetes.io/name": name, **PART_OF},
            "ports": [{"name": "http", "port": HTTP_PORT, "targetPort": "http"}],
        },
    }


def autoscaler(name: str, spec: dict) -> dict:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(name, "service")},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": spec["min"],
            "maxReplicas": spec["max"],
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": CPU_TARGET}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }


def disruption_budget(name: str) -> dict:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(name, "service")},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name, **PART_OF}}},
    }


def to_pods(match: dict, port: int) -> dict:
    return {"to": [{"podSelector": {"matchLabels": match}}], "ports": [{"protocol": "TCP", "port": port}]}


def egress_to_platform() -> list[dict]:
    return [
        {  # DNS
            "to": [{"namespaceSelector": {}}],
            "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
        },
        to_pods({"app.kubernetes.io/name": RABBIT}, 5672),
        to_pods({"cnpg.io/cluster": PG}, 5432),
    ]


def network_policy(name: str) -> dict:
    """A service talks to DNS, the broker and the database server (its own database by role), nothing else;
    notify also reaches the SMS gateway outside the cluster. Ingress: Prometheus, and for notify the
    gateway's delivery receipts through the ingress controller."""
    egress = egress_to_platform()
    ingress_from = [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ops", **PART_OF}}},  # newcitizen health
    ]
    if name == "notify":
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": PRIVATE_RANGES}}],
                "ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 80}],
            }
        )
        ingress_from.append({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(name, "service")},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name, **PART_OF}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": ingress_from, "ports": [{"protocol": "TCP", "port": HTTP_PORT}]}],
            "egress": egress,
        },
    }


def platform_env(identity: str) -> list[dict]:
    """What a tool that works on every service needs: the broker (as `identity`) and all five databases."""
    env = [*common_env(), *broker_env(identity)]
    for name in SERVICES:
        env += database_env(name)
    return env


def tool_pod(name: str, args: list[str], env: list[dict], requests: dict) -> dict:
    """The pod spec of a one-container tool (the migrations Job, the ops toolbox)."""
    volumes, mounts = scratch_volumes()
    return {
        "securityContext": pod_security(),
        "containers": [
            {
                "name": name,
                "image": IMAGE,
                "args": args,
                "envFrom": [{"configMapRef": {"name": "newcitizen-config"}}],
                "env": env,
                "resources": {"requests": requests, "limits": {"cpu": "1", "memory": "512Mi"}},
                "securityContext": security_context(),
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }


def tool_network_policy(name: str, component: str, extra_egress: list[dict] = ()) -> dict:
    """No ingress; egress to DNS, the broker and the database server, plus what the tool needs besides."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": labels(name, component)},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name, **PART_OF}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": egress_to_platform() + list(extra_egress),
        },
    }


def migrations_job() -> dict:
    # Alembic to head for every service, then the broker topology
    pod = tool_pod("migrate", ["migrate"], platform_env(TOPOLOGY), {"cpu": "100m", "memory": "192Mi"})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "newcitizen-migrate", "namespace": NAMESPACE, "labels": labels("migrate", "migrations")},
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels("migrate", "migrations")},
                "spec": {"restartPolicy": "OnFailure", **pod},
            },
        },
    }


def ops_toolbox() -> dict:
    """A pod to run `newcitizen` in: kubectl -n newcitizen exec deploy/ops -- newcitizen health"""
    addresses = [{"name": f"{name.upper()}_HTTP_ADDRESS", "value": f"{name}:{HTTP_PORT}"} for name in SERVICES]
    # ops is the token issuer: the one pod with the private key and the staff registry (on its own volume)
    issuer = [
        secret_env("JWT_PRIVATE_KEY", "newcitizen-token-issuer", "JWT_PRIVATE_KEY"),
        {"name": "STAFF_REGISTRY", "value": f"{STAFF_REGISTRY_DIR}/staff.json"},
    ]
    env = platform_env(OPS) + addresses + issuer
    pod = tool_pod("ops", ["sleep", "infinity"], env, {"cpu": "10m", "memory": "64Mi"})
    volume, mount = revocation_volume()
    pod["volumes"] += [volume, {"name": "staff-registry", "persistentVolumeClaim": {"claimName": "ops-staff-registry"}}]
    pod["containers"][0]["volumeMounts"] += [mount, {"name": "staff-registry", "mountPath": STAFF_REGISTRY_DIR}]
    selector = {"app.kubernetes.io/name": "ops", **PART_OF}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "ops", "namespace": NAMESPACE, "labels": labels("ops", "tools")},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": labels("ops", "tools")}, "spec": pod},
        },
    }


def staff_registry_claim() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "ops-staff-registry", "namespace": NAMESPACE, "labels": labels("ops", "tools")},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}}},
    }


def ops_network_policy() -> dict:
    services = {"podSelector": {"matchLabels": {"app.kubernetes.io/component": "service", **PART_OF}}}
    return tool_network_policy("ops", "tools", [{"to": [services], "ports": [{"protocol": "TCP", "port": HTTP_PORT}]}])


def prometheus_rule() -> dict:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "newcitizen", "namespace": NAMESPACE, "labels": {**PART_OF, "release": "prometheus"}},
        "spec": rules,
    }


def grafana_dashboard() -> dict:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "newcitizen.json").read_text(encoding="utf-8"))
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "newcitizen-dashboard",
            "namespace": NAMESPACE,
            "labels": {**PART_OF, "grafana_dashboard": "1"},  # picked up by Grafana's dashboard sidecar
        },
        "data": {"newcitizen.json": json.dumps(dashboard, ensure_ascii=False, indent=2) + "\n"},
    }


HEADER = "# GENERATED by deploy/k8s/render.py from its SERVICES table: edit that, then re-run it.\n"


def documents() -> dict[str, list[dict]]:
    files = {
        f"{name}.yaml": [
            deployment(name, spec),
            service(name),
            autoscaler(name, spec),
            disruption_budget(name),
            network_policy(name),
        ]
        for name, spec in SERVICES.items()
    }
    files["broker-users.yaml"] = [document for identity in IDENTITIES for document in broker_user(identity)]
    files["migrate-job.yaml"] = [migrations_job(), tool_network_policy("migrate", "migrations")]
    files["ops.yaml"] = [ops_toolbox(), staff_registry_claim(), ops_network_policy()]
    files["prometheus-rules.yaml"] = [prometheus_rule()]
    files["grafana-dashboard.yaml"] = [grafana_dashboard()]
    return files


class _PlainDumper(yaml.SafeDumper):
    """Writes a repeated mapping out again instead of as a YAML alias (&id001 / *id001)."""

    def ignore_aliases(self, data) -> bool:
        return True


def render() -> dict[str, str]:
    return {
        name: HEADER + yaml.dump_all(docs, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120)
        for name, docs in documents().items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="render.py")
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    stale = []
    OUT.mkdir(exist_ok=True)
    for name, text in render().items():
        path = OUT / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run python deploy/k8s/render.py", file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(render())} files in {OUT.relative_to(DEPLOY.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
