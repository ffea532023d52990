"""Delivery: the retry policy, the status state machine, and (elsewhere) the queue and worker."""
