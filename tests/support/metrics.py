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
