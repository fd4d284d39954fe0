"""REST API of pipeline: serializers, filtersets and viewsets."""

# (url prefix, viewset, basename) tuples, mounted under /api/ by cdpcrm/api.py.
ROUTES: list = []
