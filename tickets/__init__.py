"""Support: tickets, threads, SLA clock and inbound email."""
