"""The webhook channel: notifications POSTed, signed, to an account's endpoints."""
