"""`python -m ops.cluster`'s nodes as configured (the cluster suite starts and faults them for real): own
names, ports and data, one cookie, `pause_minority`, and kombu's failover list of the three."""

from kombu import Connection

from ops.cluster import RabbitCluster


def test_three_nodes_away_from_the_shared_broker_with_one_cookie_and_a_failover_list(tmp_path):
    cluster = RabbitCluster(tmp_path)
    nodes = cluster.nodes
    assert [node.port for node in nodes] == [5701, 5702, 5703]
    assert [node.dist_port for node in nodes] == [25701, 25702, 25703]
    assert len({node.node for node in nodes}) == 3
    assert len({node.env["RABBITMQ_MNESIA_BASE"] for node in nodes}) == 3
    assert {node.env["HOME"] for node in nodes} == {str(tmp_path / "home")}  # one Erlang cookie
    for node in nodes:
        config = (tmp_path / node.base.name / "rabbitmq.conf").read_text()
        assert f"listeners.tcp.default = 127.0.0.1:{node.port}" in config
        assert "cluster_partition_handling = pause_minority" in config
    uri = cluster.uri("vh")
    assert uri == ";".join(f"pyamqp://guest:guest@127.0.0.1:{port}/vh" for port in (5701, 5702, 5703))
    connection = Connection(uri)  # kombu connects to the first and fails over to the others in turn
    assert (connection.port, connection.virtual_host, connection.alt) == (5701, "vh", uri.split(";"))
