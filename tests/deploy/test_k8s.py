"""The Kubernetes install, checked offline on what `kubectl kustomize` builds for each overlay: every object
validates against its kind's schema (the operators' CRDs vendored in deploy/k8s/schemas/, the Kubernetes
ones from kubernetes-validate), what the base copies from the code equals what the code derives, and each
of the five services gets probes, resources, autoscaling, a disruption budget and a network policy limited
to the broker, the database and (for notify) the gateway."""

import copy
import json
import re

import pytest
import yaml

from shared.platform.config import SERVICES
from tests.deploy import k8s_schemas
from tests.deploy.conftest import DEPLOY, K8S, config_variables, platform_variables, secret_variables

CONTAINER_FIELDS = {
    "name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "volumeMounts",
    "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "securityContext", "imagePullPolicy",
}  # fmt: skip
API_VERSIONS = {
    "Namespace": "v1",
    "ConfigMap": "v1",
    "PersistentVolumeClaim": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "Job": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "RabbitmqCluster": "rabbitmq.com/v1beta1",
    "User": "rabbitmq.com/v1beta1",
    "Permission": "rabbitmq.com/v1beta1",
    "TopicPermission": "rabbitmq.com/v1beta1",
    "Policy": "rabbitmq.com/v1beta1",
    "Cluster": "postgresql.cnpg.io/v1",
    "Database": "postgresql.cnpg.io/v1",
    "ScheduledBackup": "postgresql.cnpg.io/v1",
    "ObjectStore": "barmancloud.cnpg.io/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}


def of_kind(documents, kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def env_of(container: dict) -> dict[str, dict]:
    return {item["name"]: item for item in container.get("env", [])}


def test_every_document_is_a_known_kind_with_a_name_in_the_namespace(k8s_documents):
    assert len(k8s_documents) > 30
    for doc in k8s_documents:
        assert API_VERSIONS.get(doc["kind"]) == doc["apiVersion"], (doc["kind"], doc["apiVersion"])
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"])
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "newcitizen", doc["metadata"]["name"]
    names = [(doc["kind"], doc["metadata"]["name"]) for doc in k8s_documents]
    assert len(names) == len(set(names))


def test_pod_specs_use_only_container_fields_and_set_resources(k8s_documents):
    for doc in [*of_kind(k8s_documents, "Deployment").values(), *of_kind(k8s_documents, "Job").values()]:
        pod = doc["spec"]["template"]["spec"]
        mounted = {volume["name"] for volume in pod.get("volumes", [])}
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert set(container) <= CONTAINER_FIELDS, set(container) - CONTAINER_FIELDS
            assert container["image"] == "newcitizen/platform:0.1.0"
            limits, requests = container["resources"]["limits"], container["resources"]["requests"]
            assert set(limits) == set(requests) == {"cpu", "memory"}
            security = container["securityContext"]
            assert security["runAsNonRoot"] and not security["allowPrivilegeEscalation"]
            assert security["readOnlyRootFilesystem"] and security["capabilities"] == {"drop": ["ALL"]}
            assert {mount["name"] for mount in container.get("volumeMounts", [])} <= mounted


def test_each_service_is_deployed_probed_scaled_and_protected(k8s_documents):
    deployments = of_kind(k8s_documents, "Deployment")
    services = of_kind(k8s_documents, "Service")
    autoscalers = of_kind(k8s_documents, "HorizontalPodAutoscaler")
    budgets = of_kind(k8s_documents, "PodDisruptionBudget")
    assert set(deployments) == {*SERVICES, "ops"}
    for name in SERVICES:
        deployment = deployments[name]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= pod_labels.items()
        assert "replicas" not in deployment["spec"]  # the autoscaler owns it
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [name]
        assert container["ports"] == [{"name": "http", "containerPort": 8000}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        for probe in ("livenessProbe", "startupProbe"):  # never the broker's or the database's state
            assert container[probe]["httpGet"] == {"path": "/livez", "port": "http"}, probe
        [wait] = deployment["spec"]["template"]["spec"]["initContainers"]
        assert wait["command"] == ["python", "-m", "ops.migrated", name, "--wait", "600"]

        assert services[name]["spec"]["selector"].items() <= pod_labels.items()
        assert services[name]["spec"]["ports"][0]["targetPort"] == "http"
        scaler = autoscalers[name]["spec"]
        assert scaler["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= scaler["minReplicas"] < scaler["maxReplicas"]
        assert budgets[name]["spec"]["minAvailable"] == 1
        assert budgets[name]["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_each_service_reads_its_own_database_and_the_shared_secrets(k8s_documents):
    config_map = of_kind(k8s_documents, "ConfigMap")["newcitizen-config"]["data"]
    assert config_map["LOG_FORMAT"] == "json"  # one JSON object a line for the cluster's log collector
    for name in SERVICES:
        deployment = of_kind(k8s_documents, "Deployment")[name]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = env_of(container)
        upper = name.upper()
        assert env[f"{upper}_DATABASE_URL"]["value"] == (
            f"postgresql://$({upper}_DB_USERNAME):$({upper}_DB_PASSWORD)@newcitizen-pg-rw:5432/{name}"
        )
        assert env[f"{upper}_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"newcitizen-pg-{name}"
        assert env["AMQP_URI"]["value"].startswith("pyamqp://$(RABBITMQ_USERNAME):$(RABBITMQ_PASSWORD)@")
        assert env["RABBITMQ_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == f"newcitizen-broker-{name}"
        names = list(env)  # $(VAR) expands only variables defined earlier in the list
        assert names.index("RABBITMQ_PASSWORD") < names.index("AMQP_URI")
        assert names.index(f"{upper}_DB_PASSWORD") < names.index(f"{upper}_DATABASE_URL")
        for secret in ("PII_HMAC_KEY", "PII_ENCRYPTION_KEY"):
            assert env[secret]["valueFrom"]["secretKeyRef"] == {"name": "newcitizen-secrets", "key": secret}
            assert secret not in config_map
        keys = {"name": "newcitizen-token-keys", "key": "JWT_PUBLIC_KEYS"}
        assert env["JWT_PUBLIC_KEYS"]["valueFrom"]["secretKeyRef"] == keys
        assert "JWT_PRIVATE_KEY" not in env  # only the issuer (ops) can sign
        signing = {"name": f"newcitizen-event-signing-{name}", "key": "EVENT_SIGNING_KEY"}
        assert env["EVENT_SIGNING_KEY"]["valueFrom"]["secretKeyRef"] == signing  # its own key, nobody else's
        events = {"name": "newcitizen-token-keys", "key": "EVENT_PUBLIC_KEYS"}
        assert env["EVENT_PUBLIC_KEYS"]["valueFrom"]["secretKeyRef"] == events
        pod = deployment["spec"]["template"]["spec"]
        assert {"name": "newcitizen-revoked-tokens", "optional": True} in [v.get("configMap") for v in pod["volumes"]]
        # everything the service's config reads is either provided or has a sound default
        provided = set(env) | set(config_map)
        variables = config_variables(name)
        needed = {"AMQP_URI", "ENV", "JWT_PUBLIC_KEYS", f"{upper}_DATABASE_URL", "EVENT_QUEUE_TYPE"}
        assert needed <= variables & provided
        assert secret_variables(name) <= set(env), "a development default would be refused in production"
    assert config_map["EVENT_QUEUE_TYPE"] == "quorum" and config_map["ENV"] == "production"


def test_network_policies_limit_services_to_broker_database_and_gateway(k8s_documents):
    policies = of_kind(k8s_documents, "NetworkPolicy")
    assert policies["default-deny-platform"]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    for name in SERVICES:
        spec = policies[name]["spec"]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == name
        destinations = []
        for rule in spec["egress"]:
            for peer in rule["to"]:
                ports = sorted(port["port"] for port in rule["ports"])
                if "ipBlock" in peer:
                    destinations.append(("outside", ports))
                elif "podSelector" in peer:
                    destinations.append((next(iter(peer["podSelector"]["matchLabels"].values())), ports))
                else:
                    destinations.append(("dns", ports))
        expected = [("dns", [53, 53]), ("newcitizen-rabbitmq", [5672]), ("newcitizen-pg", [5432])]
        if name == "notify":
            expected.append(("outside", [80, 443]))
        assert destinations == expected, name
        assert [port["port"] for port in spec["ingress"][0]["ports"]] == [8000]
    toolbox = policies["ops"]["spec"]
    assert toolbox["ingress"] == [] and toolbox["egress"][-1]["ports"] == [{"protocol": "TCP", "port": 8000}]


def test_the_ops_toolbox_reaches_every_database_and_service(k8s_documents):
    [container] = of_kind(k8s_documents, "Deployment")["ops"]["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    for name in SERVICES:
        assert f"{name.upper()}_DATABASE_URL" in env
        assert env[f"{name.upper()}_HTTP_ADDRESS"]["value"] == f"{name}:8000"


def test_only_the_ops_toolbox_holds_the_token_private_key_and_the_staff_registry(k8s_documents):
    holders = {
        name
        for kind in ("Deployment", "Job")
        for name, workload in of_kind(k8s_documents, kind).items()
        for container in workload["spec"]["template"]["spec"]["containers"]
        if "JWT_PRIVATE_KEY" in env_of(container)
    }
    assert holders == {"ops"}
    pod = of_kind(k8s_documents, "Deployment")["ops"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    env = env_of(container)
    issuer_key = {"name": "newcitizen-token-issuer", "key": "JWT_PRIVATE_KEY"}
    assert env["JWT_PRIVATE_KEY"]["valueFrom"]["secretKeyRef"] == issuer_key
    claim = {"claimName": "ops-staff-registry"}
    assert claim in [volume.get("persistentVolumeClaim") for volume in pod["volumes"]]
    assert "ops-staff-registry" in of_kind(k8s_documents, "PersistentVolumeClaim")


def test_broker_is_a_three_node_cluster_and_the_database_has_one_database_per_service(k8s_documents):
    [rabbit] = of_kind(k8s_documents, "RabbitmqCluster").values()
    assert rabbit["spec"]["replicas"] == 3
    assert "rabbitmq_prometheus" in rabbit["spec"]["rabbitmq"]["additionalPlugins"]
    [cluster] = of_kind(k8s_documents, "Cluster").values()
    owners = {cluster["spec"]["bootstrap"]["initdb"]["database"]: cluster["spec"]["bootstrap"]["initdb"]["owner"]}
    owners |= {db["spec"]["name"]: db["spec"]["owner"] for db in of_kind(k8s_documents, "Database").values()}
    assert owners == {name: name for name in SERVICES}
    roles = {role["name"] for role in cluster["spec"]["managed"]["roles"]} | {"housing"}
    assert roles == set(SERVICES)
    hba = cluster["spec"]["postgresql"]["pg_hba"]
    for name in SERVICES:
        assert hba.index(f"host {name} {name} all scram-sha-256") < hba.index(f"host {name} all all reject")


def test_the_database_is_backed_up_nightly_through_the_barman_cloud_plugin(k8s_documents):
    [cluster] = of_kind(k8s_documents, "Cluster").values()
    assert "backup" not in cluster["spec"]  # the deprecated in-tree barmanObjectStore
    [plugin] = cluster["spec"]["plugins"]
    assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"] is True
    store = of_kind(k8s_documents, "ObjectStore")[plugin["parameters"]["barmanObjectName"]]
    [nightly] = of_kind(k8s_documents, "ScheduledBackup").values()
    assert nightly["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert nightly["spec"]["method"] == "plugin" and nightly["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    assert nightly["spec"]["schedule"].split()[:3] == ["0", "0", "18"]  # 02:00 in Cixi; seconds come first
    secrets = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all((K8S / "secrets.example.yaml").read_text())}
    credentials = store["spec"]["configuration"]["s3Credentials"]
    for ref in credentials.values():
        assert ref["key"] in secrets[ref["name"]]["stringData"]


def test_the_database_acknowledges_a_commit_only_once_a_replica_has_it(k8s_documents):
    """What `make test-pg-failover` showed holds through a promotion: synchronous commit to a standby, with
    a spare replica, so one replica away does not stop writes."""
    [cluster] = of_kind(k8s_documents, "Cluster").values()
    spec = cluster["spec"]
    assert 1 <= spec["minSyncReplicas"] <= spec["maxSyncReplicas"] < spec["instances"] - 1


def test_migrations_job_migrates_every_database_then_declares_the_topology(k8s_documents):
    job = of_kind(k8s_documents, "Job")["newcitizen-migrate"]
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["migrate"]
    env = env_of(container)
    assert {f"{name.upper()}_DATABASE_URL" for name in SERVICES} <= set(env) and "AMQP_URI" in env
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_monitoring_uses_the_same_job_rules_and_dashboard_as_compose(k8s_documents):
    [rule] = of_kind(k8s_documents, "PrometheusRule").values()
    assert rule["spec"] == yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    monitor = of_kind(k8s_documents, "PodMonitor")["newcitizen"]["spec"]
    assert monitor["jobLabel"] == "app.kubernetes.io/part-of"  # job="newcitizen", as the rules expect
    assert monitor["podMetricsEndpoints"][0]["relabelings"][0]["targetLabel"] == "service"
    broker = of_kind(k8s_documents, "ServiceMonitor")["newcitizen-rabbitmq"]["spec"]["endpoints"][0]
    assert broker["path"] == "/metrics/detailed"


def test_each_overlay_builds_the_whole_install_with_its_image(k8s_documents, k8s_overlay):
    kustomization = yaml.safe_load((K8S / "overlays" / k8s_overlay / "kustomization.yaml").read_text())
    [image] = kustomization["images"]
    assert sum(doc["kind"] == "Deployment" for doc in k8s_documents) == len(SERVICES) + 1  # and the ops toolbox
    for kind in ("Deployment", "Job"):
        for workload in of_kind(k8s_documents, kind).values():
            pod = workload["spec"]["template"]["spec"]
            for container in pod.get("initContainers", []) + pod["containers"]:
                assert container["image"] == f"{image['newName']}:{image['newTag']}", container["name"]


def test_every_object_validates_against_its_kinds_schema(k8s_documents):
    """No kind goes unchecked: one without a vendored CRD or a Kubernetes schema fails here."""
    problems = []
    for doc in k8s_documents:
        try:
            k8s_schemas.validate(doc)
        except k8s_schemas.SchemaErrors as error:
            problems.append(str(error))
    assert not problems, "\n".join(problems)
    assert {doc["kind"] for doc in k8s_documents} == set(API_VERSIONS)


def misspelt(doc: dict) -> dict:
    """`doc` with an unknown field beside its spec's first field (or its own, without a spec), as a typo
    would put it."""
    wrong = copy.deepcopy(doc)
    body = wrong.get("spec") or wrong
    first = next(iter(body))
    body[first + "s"] = body[first]
    return wrong


def test_validation_refuses_an_unknown_field_in_every_kind(k8s_documents):
    for doc in {doc["kind"]: doc for doc in k8s_documents}.values():
        with pytest.raises(k8s_schemas.SchemaErrors):
            k8s_schemas.validate(misspelt(doc))
    deployment = copy.deepcopy(of_kind(k8s_documents, "Deployment")["housing"])
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    deployment["metadata"]["label"] = {}
    with pytest.raises(k8s_schemas.SchemaErrors) as raised:
        k8s_schemas.validate(deployment)
    assert len(raised.value.problems) == 2  # every bad field, not the first


def test_validation_leaves_open_only_what_upstream_leaves_open(k8s_documents):
    """A policy's definition is any of RabbitMQ's policy keys (upstream preserves unknown fields there);
    the override of the broker's StatefulSet is a whole pod template, closed as the Kubernetes one is."""
    policy = copy.deepcopy(of_kind(k8s_documents, "Policy")["dlq-keep"])
    policy["spec"]["definition"]["max-length"] = 1000
    k8s_schemas.validate(policy)
    [rabbit] = of_kind(k8s_documents, "RabbitmqCluster").values()
    rabbit = copy.deepcopy(rabbit)
    rabbit["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]["nodeSelectr"] = {}
    with pytest.raises(k8s_schemas.SchemaErrors):
        k8s_schemas.validate(rabbit)


def test_every_vendored_schema_says_where_it_came_from():
    readme = (k8s_schemas.SCHEMAS / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `([^`]+)` \| \[[^]]+\]\(https://github\.com/[^)]+\) \| `v[\d.]+` ", readme, re.M))
    assert listed == {path.name for path in k8s_schemas.SCHEMAS.iterdir() if path.name != "README.md"}


RABBITMQ_LINE = "4.3"  # docs/decisions.md, "Broker release line"
# what the cluster operator (v2.22.3, internal/resource/configmap.go) writes into the same rabbitmq.conf for a
# cluster without TLS: its defaults, the cluster's name and size, the SASL mechanisms and the memory limit
OPERATOR_CONF_KEYS = [
    "log.console", "queue_master_locator", "disk_free_limit.absolute", "cluster_partition_handling",
    "cluster_formation.peer_discovery_backend", "cluster_formation.k8s.host", "cluster_formation.k8s.address_type",
    "cluster_formation.target_cluster_size_hint", "cluster_name", "auth_mechanisms.1", "auth_mechanisms.2",
    "total_memory_available_override_value",
]  # fmt: skip


def test_every_rabbitmq_conf_key_is_a_setting_of_the_release_line(k8s_documents):
    """A key a node does not know stops it booting: each key of additionalConfig, and each the operator adds,
    must be a mapping of the vendored schemas (the core's, the Kubernetes peer discovery's) of the release
    line the image runs."""
    [rabbit] = of_kind(k8s_documents, "RabbitmqCluster").values()
    assert rabbit["spec"]["image"].startswith(f"rabbitmq:{RABBITMQ_LINE}.")
    readme = (k8s_schemas.SCHEMAS / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| `rabbit\.schema` \|.*\| `v{re.escape(RABBITMQ_LINE)}\.\d+` ", readme, re.M)
    settings = k8s_schemas.rabbitmq_settings()
    ours = k8s_schemas.rabbitmq_conf_keys(rabbit["spec"]["rabbitmq"]["additionalConfig"])
    assert ours and "quorum_queue.initial_cluster_size" not in ours
    keys = OPERATOR_CONF_KEYS + ours
    unknown = [key for key in keys if not any(setting.match(key) for setting in settings)]
    assert not unknown, f"not settings of RabbitMQ {RABBITMQ_LINE}: {unknown}"
    assert not any(setting.match("quorum_queue.initial_cluster_sizes") for setting in settings)


def test_the_dead_letter_queues_keep_their_messages_past_the_delivery_limit(k8s_documents):
    from shared.platform.topology import (
        consumer_declarations,
        dead_letter_queue_name,
        publisher_declarations,
        rpc_queue,
    )

    policy = of_kind(k8s_documents, "Policy")["dlq-keep"]["spec"]
    assert policy["applyTo"] == "quorum_queues" and policy["definition"] == {"delivery-limit": -1}
    config = {"EVENT_QUEUE_TYPE": "quorum", "EVENT_RETRY_DELAYS_MS": [1000, 5000, 30000]}
    queues = {rpc_queue(service, config).name for service in SERVICES}
    for service in SERVICES:
        queues |= {q.name for q in publisher_declarations(service, config) + consumer_declarations(service, config)}
    dead_letter = {dead_letter_queue_name(service) for service in SERVICES}
    assert dead_letter <= queues
    assert {name for name in queues if re.search(policy["pattern"], name)} == dead_letter


def test_the_dashboard_configmap_is_the_dashboard_compose_provisions(k8s_documents, dashboard):
    config_map = of_kind(k8s_documents, "ConfigMap")["newcitizen-dashboard"]
    assert json.loads(config_map["data"]["newcitizen.json"]) == dashboard


def test_each_overlay_backs_up_to_its_own_bucket():
    from tests.deploy.conftest import OVERLAYS, kustomize

    paths = {}
    for overlay in OVERLAYS:
        store = of_kind(kustomize(K8S / "overlays" / overlay), "ObjectStore")["newcitizen-backups"]
        paths[overlay] = store["spec"]["configuration"]["destinationPath"]
    assert len(set(paths.values())) == len(OVERLAYS) >= 2, paths


def test_fully_scaled_services_fit_in_the_database_connections(k8s_documents):
    """Each replica holds about max_workers connections, plus two for the outbox relay and sweep."""
    config_map = of_kind(k8s_documents, "ConfigMap")["newcitizen-config"]["data"]
    scalers = of_kind(k8s_documents, "HorizontalPodAutoscaler")
    needed = sum(
        scalers[name]["spec"]["maxReplicas"] * (int(config_map[f"{name.upper()}_MAX_WORKERS"]) + 2) for name in SERVICES
    )
    [cluster] = of_kind(k8s_documents, "Cluster").values()
    assert needed == 484  # docs/operations.md quotes this figure
    assert needed < int(cluster["spec"]["postgresql"]["parameters"]["max_connections"]) - 20  # room for admins


def test_every_configmap_key_is_a_variable_the_configurations_read():
    read = platform_variables()
    data = yaml.safe_load((K8S / "base" / "config.yaml").read_text(encoding="utf-8"))["data"]
    assert set(data) <= read, f"ConfigMap keys no config.yaml reads: {sorted(set(data) - read)}"


def test_services_list_every_broker_node_and_declare_every_queue_as_the_cluster_suite_ran(k8s_documents):
    """What tests/cluster proved on three nodes is what the install runs: kombu's failover list of every
    node, and every event, retry, dead-letter and RPC request queue a quorum queue."""
    from urllib.parse import urlsplit

    from ops.cluster import NODES
    from shared.platform.topology import consumer_declarations, publisher_declarations, rpc_queue
    from tests.cluster.test_cluster import QUEUE_TYPE

    [rabbit] = of_kind(k8s_documents, "RabbitmqCluster").values()
    nodes = rabbit["spec"]["replicas"]
    assert nodes == NODES == 3
    expected = [f"newcitizen-rabbitmq-server-{i}.newcitizen-rabbitmq-nodes.newcitizen.svc" for i in range(nodes)]
    containers = [of_kind(k8s_documents, "Deployment")[name]["spec"]["template"]["spec"]["containers"][0]
                  for name in [*SERVICES, "ops"]]  # fmt: skip
    containers.append(of_kind(k8s_documents, "Job")["newcitizen-migrate"]["spec"]["template"]["spec"]["containers"][0])
    for container in containers:
        addresses = env_of(container)["AMQP_URI"]["value"].split(";")
        assert [urlsplit(address).hostname for address in addresses] == expected, container["name"]
        assert {urlsplit(address).path for address in addresses} == {"/"}  # one vhost, as the suite's list
    config_map = of_kind(k8s_documents, "ConfigMap")["newcitizen-config"]["data"]
    assert config_map["EVENT_QUEUE_TYPE"] == QUEUE_TYPE == "quorum"
    config = {"EVENT_QUEUE_TYPE": config_map["EVENT_QUEUE_TYPE"], "EVENT_RETRY_DELAYS_MS": [1000, 5000, 30000]}
    queues = [rpc_queue(service, config) for service in SERVICES]
    for service in SERVICES:
        queues += publisher_declarations(service, config)[1:] + consumer_declarations(service, config)
    assert {queue.name: queue.queue_arguments["x-queue-type"] for queue in queues} == {
        queue.name: "quorum" for queue in queues
    }


def broker_identities(k8s_documents) -> dict[str, dict]:
    """{broker identity: the container that connects as it}: each service, ops, and the topology step."""
    deployments = of_kind(k8s_documents, "Deployment")
    containers = {name: deployments[name]["spec"]["template"]["spec"]["containers"][0] for name in [*SERVICES, "ops"]}
    job = of_kind(k8s_documents, "Job")["newcitizen-migrate"]
    containers["topology"] = job["spec"]["template"]["spec"]["containers"][0]
    return containers


def test_every_workload_connects_to_the_broker_with_its_own_secret_never_the_administrator(k8s_documents):
    from shared.platform.broker_access import IDENTITIES

    containers = broker_identities(k8s_documents)
    assert set(containers) == set(IDENTITIES)
    secrets = {}
    for identity, container in containers.items():
        env = env_of(container)
        refs = {env[key]["valueFrom"]["secretKeyRef"]["name"] for key in ("RABBITMQ_USERNAME", "RABBITMQ_PASSWORD")}
        assert refs == {f"newcitizen-broker-{identity}"}, identity
        secrets[identity] = refs.pop()
    assert len(set(secrets.values())) == len(IDENTITIES)  # no two share one
    workloads = [*of_kind(k8s_documents, "Deployment").values(), *of_kind(k8s_documents, "Job").values()]
    for workload in workloads:
        pod = workload["spec"]["template"]["spec"]
        for container in [*pod["containers"], *pod.get("initContainers", [])]:
            text = yaml.safe_dump(container)
            assert "default-user" not in text, f"{container['name']} holds the broker administrator's credentials"
            if container in pod.get("initContainers", []):
                assert "RABBITMQ_PASSWORD" not in env_of(container)  # waits for the database only


def test_broker_users_and_permissions_are_the_ones_generated_from_the_topology(k8s_documents):
    """The regexes in deploy/ cannot drift from what the services declare and use: they are compared with
    shared/platform/broker_access.py, itself derived from shared/platform/topology.py and the event contracts."""
    from shared.platform.broker_access import permissions, username

    users = of_kind(k8s_documents, "User")
    granted = {name: doc["spec"] for name, doc in of_kind(k8s_documents, "Permission").items()}
    expected = permissions()
    assert set(users) == set(granted) == {username(identity) for identity in expected}
    for identity, wanted in expected.items():
        name = username(identity)
        assert users[name]["spec"]["importCredentialsSecret"] == {"name": f"newcitizen-broker-{identity}"}
        assert users[name]["spec"]["tags"] == []  # no management, policymaker or administrator tag
        assert granted[name]["userReference"] == {"name": name} and granted[name]["vhost"] == "/"
        assert granted[name]["permissions"] == {"configure": wanted.configure, "write": wanted.write,
                                                "read": wanted.read}  # fmt: skip
        for spec in (users[name]["spec"], granted[name]):
            assert spec["rabbitmqClusterReference"] == {"name": "newcitizen-rabbitmq"}
    topics = {}
    for doc in of_kind(k8s_documents, "TopicPermission").values():
        spec = doc["spec"]
        assert spec["vhost"] == "/" and spec["rabbitmqClusterReference"] == {"name": "newcitizen-rabbitmq"}
        topics[(spec["userReference"]["name"], spec["permissions"]["exchange"])] = spec["permissions"]
    assert topics == {
        (username(identity), on.exchange): {"exchange": on.exchange, "write": on.write, "read": on.read}
        for identity, wanted in expected.items()
        for on in wanted.topics
    }


def test_the_refresh_script_rewrites_the_base_to_what_the_code_derives():
    from scripts.refresh_broker_users import BASE, refreshed

    text = BASE.read_text()
    assert refreshed(text) == text  # the committed base is what the script writes, byte for byte
    stale = text.replace("housing\\.events|", "", 1)
    assert stale != text and refreshed(stale) == text


def differences(left, right, path=()) -> set[tuple]:
    """The paths at which two parsed documents differ (lists item by item where their lengths agree)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return {found for key in left.keys() | right.keys()
                for found in differences(left.get(key), right.get(key), (*path, key))}  # fmt: skip
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return {
            found
            for index, pair in enumerate(zip(left, right, strict=True))
            for found in differences(*pair, (*path, index))
        }
    return set() if left == right else {path}


STAGING_CHANGES = {
    ("RabbitmqCluster", "newcitizen-rabbitmq"): {"resources", "persistence"},
    ("Cluster", "newcitizen-pg"): {"resources", "storage", "walStorage"},
    ("ObjectStore", "newcitizen-backups"): {"configuration"},
}


def test_staging_is_production_with_smaller_volumes_and_its_own_bucket():
    """What docs/operations.md promises a rehearsal: the same objects and counts, only sizes, the bucket and
    the image tag differ."""
    from tests.deploy.conftest import kustomize

    built = {name: {(doc["kind"], doc["metadata"]["name"]): doc for doc in kustomize(K8S / "overlays" / name)}
             for name in ("production", "staging")}  # fmt: skip
    assert built["production"].keys() == built["staging"].keys()
    for key, production in built["production"].items():
        changed = {path for path in differences(production, built["staging"][key]) if path[-1] != "image"}
        assert {path[1] for path in changed} <= STAGING_CHANGES.get(key, set()), (key, changed)
        assert all(path[0] == "spec" for path in changed), (key, changed)
    store = built["staging"][("ObjectStore", "newcitizen-backups")]["spec"]["configuration"]
    assert differences(built["production"][("ObjectStore", "newcitizen-backups")]["spec"]["configuration"], store) == {
        ("destinationPath",)
    }
