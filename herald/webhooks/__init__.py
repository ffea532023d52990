"""Outbound webhooks: Standard Webhooks signatures and SSRF-safe HTTP delivery."""
