"""`popcase serve --workers 2`: the workers share their metrics (prometheus-client's
multiprocess mode), so a scrape answered by either worker counts every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_database, migrated
from tests.observability.scrape import value
from tests.observability.server import serving

TOKEN = "scraper-secret-workers"
REQUESTS_MADE = 40
SCRAPES = 8


@pytest.fixture
def served_database(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(db_url, tmp_path_factory, "workers") as url, migrated(url):
        yield url


def fresh_connection_get(url: str, **kwargs: object) -> httpx.Response:
    # A new connection each time: the kernel hands connections to either worker.
    with httpx.Client(timeout=10) as client:
        return client.get(url, **kwargs)  # type: ignore[arg-type]


def test_two_workers_count_every_request_in_each_scrape(served_database: str,
                                                        tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    with serving(served_database, log_path, workers=2,
                 env={"POPCASE_METRICS_TOKEN": TOKEN}) as base:
        baseline = health_count(base)  # the start-up check's /health
        for _ in range(REQUESTS_MADE):
            assert fresh_connection_get(f"{base}/health").status_code == 200
        counts = [health_count(base) for _ in range(SCRAPES)]
        ready = fresh_connection_get(f"{base}/ready")
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
    # Whichever worker answered, the sum over both.
    assert counts == [baseline + REQUESTS_MADE] * SCRAPES
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{")]
    health = [line for line in lines if line.get("event") == "request"
              and line.get("route") == "/health"]
    assert len({line["request_id"] for line in health}) == baseline + REQUESTS_MADE
    assert all(isinstance(line["pid"], int) for line in health)


def health_count(base: str) -> float:
    scraped = fresh_connection_get(f"{base}/metrics",
                                   headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    assert value(scraped.text, "popcase_db_pool_size") > 0
    return value(scraped.text, "popcase_http_request_duration_seconds_count",
                 route="/health", method="GET", status="200")
