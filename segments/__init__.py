"""Segments: rule trees, membership and activation."""
