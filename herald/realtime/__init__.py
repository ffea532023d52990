"""Real time: a hub in every API process pushing each user's inbox events over WebSocket and SSE.

Real time is a view of the inbox: every frame is a row of ``inbox_events`` read from the
database, so a reconnecting client resumes from its last sequence number and misses nothing.
See docs/realtime.md.
"""
