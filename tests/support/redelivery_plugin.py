"""`-p tests.support.redelivery_plugin`: the redelivery check in a pytest run without the suite's conftest."""

from tests.support.redelivery import VhostCheck


def pytest_configure(config):
    config.pluginmanager.register(VhostCheck(), "redelivery-check")
