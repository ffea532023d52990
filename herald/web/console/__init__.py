"""The admin console at ``/console``: server-rendered pages over the services ``/v1`` uses.

It signs in with an API key, keeps the session server side (``sessions``) and checks the
key's scopes and the account tree on every page exactly as the API routes do.
"""
