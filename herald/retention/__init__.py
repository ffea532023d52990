"""Retention: personal data is deleted once an account's ``retention_days`` have passed.

``herald.retention.service.purge`` is the one entry point: the worker runs it hourly and
``herald purge`` on demand. What it deletes and when is written in docs/reliability.md ("What
retention deletes and when").
"""
