"""Ingestion: the inbox drained in groups (claim, normalise, store, isolate), the sweeper and the tasks."""
