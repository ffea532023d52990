"""Prometheus metrics shared by every feature (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

# A ``_created`` series per counter and histogram doubles the series and says nothing useful.
disable_created_metrics()  # type: ignore[no-untyped-call]

HTTP_REQUESTS = Counter(
    "herald_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "herald_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)
NOTIFICATIONS_ACCEPTED = Counter(
    "herald_notifications_accepted_total", "Notifications accepted", ["type"]
)
DELIVERIES = Counter(
    "herald_deliveries_total", "Delivery attempts by outcome", ["channel", "provider", "outcome"]
)
DELIVERY_LATENCY = Histogram(
    "herald_provider_send_seconds", "Time spent in a provider's send", ["channel", "provider"]
)
REALTIME_CONNECTIONS = Gauge(
    "herald_realtime_connections", "Open WebSocket and SSE connections", ["transport"]
)
DELIVERY_ATTEMPTS = Counter(
    "herald_delivery_attempts_total",
    "Attempts recorded by the workers, by outcome (those no provider was reached for too)",
    ["channel", "outcome"],
)
DELIVERIES_COMPLETED = Counter(
    "herald_deliveries_completed_total",
    "Deliveries that reached a final status",
    ["channel", "status"],
)
# herald_queue_due{queue} (jobs due now) is the worker's own, measured as it polls.
DELIVERIES_WAITING = Gauge(
    "herald_deliveries_waiting",
    "Deliveries not finished (created: waiting; sending: claimed or between retries), "
    "read from the database at each scrape",
    ["channel", "status"],
)
DELIVERIES_SKIPPED = Counter(
    "herald_deliveries_skipped_total",
    "Deliveries a delivery rule ruled out (written skipped), by reason",
    ["reason"],
)
