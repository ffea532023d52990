"""The in-app inbox: items, read state, actions with their audit trail, real-time events."""
