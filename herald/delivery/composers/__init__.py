"""One composer per channel: a delivery's rendered parts to the channel's stored document,
and that document back to the provider's message at each attempt."""
