"""Pages and htmx partials of the CRM core, one module per page family (contacts/urls.py maps them)."""
