"""Login and API hardening: hashed, scoped API tokens and the append-only audit log."""
