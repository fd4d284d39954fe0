"""Unified profiles: identities, resolution, merges, traits, the contact link, the timeline, pages and APIs."""
