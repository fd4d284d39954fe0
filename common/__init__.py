"""Small helpers every app may import (htmx responses, ...); this package imports no app of the project."""
