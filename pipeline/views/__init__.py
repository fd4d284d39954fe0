"""Deal pages, one module per page (pipeline/urls.py maps them)."""
