"""Accepting notifications: validation, fan-out in one transaction, idempotency, status."""
