"""Audience destinations: segment (or journey step) members synced to ad and e-mail lists in batches."""
