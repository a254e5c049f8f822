"""Reading a service's /metrics in a test. Gauges computed from the database are kept by a timer
(`METRICS_REFRESH_SECONDS`, half a second in the suite), so a test waits for the value it expects."""

import requests

from tests.support.waiting import wait_for


def scrape(address: str) -> str:
    base = address if address.startswith("http") else f"http://{address}"
    return requests.get(f"{base}/metrics", timeout=10).text


def metrics_showing(address: str, *samples: str) -> str:
    """The first scrape that has every sample line, or `ConditionNotMet` naming them."""

    def showing():
        text = scrape(address)
        return text if all(sample in text for sample in samples) else None

    return wait_for(showing, what=f"/metrics showing {samples}")


def sample_value(metric, **labels) -> float:
    """One sample of one metric of this process, 0 when it has none yet. Reads that metric alone: the global
    registry of a long test process holds every service's series, and collecting all of it per read took
    seconds."""
    wanted = {key: str(value) for key, value in labels.items()}
    for family in metric.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == wanted:
                return sample.value
    return 0.0


def gauge_value(metric, **labels) -> float | None:
    """One gauge's sample of this process (None when it has none), reading that metric alone."""
    wanted = {key: str(value) for key, value in labels.items()}
    for family in metric.collect():
        for sample in family.samples:
            if sample.labels == wanted:
                return sample.value
    return None
