"""The webhook channel's per-account endpoints: where notifications are POSTed, signed."""
