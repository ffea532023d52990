"""Seed 003 (a council's notifications API) at ``/hackney``: its request body, records and
message statuses, translated over the services ``/v1`` uses (docs/compatibility.md)."""
