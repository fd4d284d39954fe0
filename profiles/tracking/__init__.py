"""The tracking edge: the /v1/ endpoints, request checks, rate limit and source cache."""
