"""Channels: one folder per channel, one module per provider, and the contract they share."""
