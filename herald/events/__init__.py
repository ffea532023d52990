"""Notification types: the catalogue, payload JSON Schemas, the envelope and targeting."""
