"""Outbound webhooks: Standard Webhooks signatures."""
