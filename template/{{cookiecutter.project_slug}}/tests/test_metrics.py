"""/metrics: requests counted by endpoint, method and status, with label values the client cannot
choose. (Counting across Gunicorn's worker processes is checked on the live stack by flaskgen's
own tests.)"""

from __future__ import annotations

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families


def samples(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def requests_total(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], **labels: str) -> float:
    return found.get(("http_requests_total", tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_endpoint_and_status(client: FlaskClient) -> None:
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    found = samples(client)
    assert requests_total(found, endpoint="health.healthz", method="GET", status="200") == 3
    assert requests_total(found, endpoint="unmatched", method="GET", status="404") == 1
    latency = ("http_request_duration_seconds_count", (("endpoint", "health.healthz"), ("method", "GET")))
    assert found[latency] == 3


def test_clients_cannot_invent_label_values(client: FlaskClient) -> None:
    for method in ("BREW", "X" * 200, "PROPFIND"):
        assert client.open("/healthz", method=method).status_code == 405
    found = samples(client)
    assert requests_total(found, endpoint="unmatched", method="other", status="405") == 3
    assert not any("BREW" in str(labels) for _, labels in found)


def test_metrics_is_not_in_the_api_contract(client: FlaskClient) -> None:
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]
