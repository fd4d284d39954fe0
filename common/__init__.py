"""Small helpers every app may import: the REST API contract, htmx responses, pickers, CSV; imports no app."""
