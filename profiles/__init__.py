"""CDP: sources, tracking API, ingestion pipeline, events, profiles and identities."""
