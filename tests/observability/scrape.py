"""Reading a Prometheus scrape."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels`` (None: no such)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None


def value(text: str, name: str, **labels: str) -> float:
    """As ``sample``, with a missing series counting as 0 (a counter not yet bumped)."""
    found = sample(text, name, **labels)
    return 0.0 if found is None else found
