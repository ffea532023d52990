"""Seed 002, the hosted-PBX (Kazoo) notifications API, at ``/kazoo/v2``.

Its clients authenticate with ``X-Auth-Token`` (``PUT /kazoo/v2/api_auth`` trades an API key
for one), send ``{"data": ...}`` and read ``{"auth_token", "data", "request_id", "revision",
"status"}``. Templates, the system defaults, the SMTP log and the reseller's customer update
are the template, delivery and broadcast services of ``/v1``; this package only translates.
"""

PREFIX = "/kazoo/v2"
