"""The GOV.UK Notify-compatible API (``/v2``): Notify's clients work against Herald unchanged.

Only a translation (DESIGN.md): Notify's JWT auth, its request fields and validation messages,
its answers and error body. Sending, reading and rendering are the services ``/v1`` uses.
"""
