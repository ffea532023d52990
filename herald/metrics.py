"""Prometheus metrics shared by every feature (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
