"""Every staff page, partial and JSON endpoint answers hostile query parameters without a server error.

The parameters fuzzed are the ones each page really reads: a first, clean GET records every key the view
looks up in `request.GET`; then every such key gets each hostile value (NUL bytes, quotes, huge and
negative numbers, wrong types, impossible dates and offsets, very long text).
"""

import pytest
from django.http import QueryDict

from tests.cdpcrm.site import admin_paths, page_paths, site_objects

pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "a\x00b",
    "'\"<script>--",
    "' OR 1=1 --",
    "99999999999999999999999999",
    "-1",
    "1.5e308",
    "²",
    "[]",
    "2026-13-45",
    "2026-01-01T00:00:00+16:00",
    "2026-01-01T00:00:00+99:00",
    "x" * 5000,
    "%|\\",
    "",
]
ONE_BY_ONE = ["a\x00'\"", "²", "99999999999999999999999999", "2026-01-01T00:00:00+16:00|event|1"]
# Keys the admin's change lists read through `request.GET.items()`, which the recorder does not see.
ADMIN_KEYS = ("q", "o", "p", "e", "all", "_popup", "_to_field")


class _KeysRead:
    """Records the keys views read from any QueryDict while active."""

    def __init__(self, monkeypatch):
        self.keys: set[str] = set()
        for name in ("get", "getlist", "__getitem__", "__contains__"):
            original = getattr(QueryDict, name)

            def recording(query, key, *args, _original=original, **kwargs):
                if isinstance(key, str):
                    self.keys.add(key)
                return _original(query, key, *args, **kwargs)

            monkeypatch.setattr(QueryDict, name, recording)


def test_no_page_answers_a_server_error_to_hostile_query_parameters(
    admin_client_role, admin_user, monkeypatch
):
    objects = site_objects(user=admin_user)
    paths = page_paths(objects) + admin_paths(objects)
    recorder = _KeysRead(monkeypatch)
    keys_by_path = {}
    for path in paths:
        recorder.keys = set()
        status = admin_client_role.get(path).status_code
        assert status < 500, (path, status)
        keys = recorder.keys - {"HTTP_HX_REQUEST", "next"}
        if path.startswith("/admin/") and path.count("/") == 4:  # a change list: /admin/<app>/<model>/
            keys |= set(ADMIN_KEYS)
        keys_by_path[path] = sorted(keys)
    assert sum(map(len, keys_by_path.values())) > 100  # the recorder sees the filters of every list
    admin_client_role.raise_request_exception = False  # collect every 500, not only the first
    errors = []
    for path, keys in keys_by_path.items():
        if not keys:
            continue
        for value in HOSTILE:
            response = admin_client_role.get(path, dict.fromkeys(keys, value))
            if response.status_code >= 500:
                errors.append((path, keys, value[:30], response.status_code))
        # One key at a time too, so a value one key refuses early cannot hide what another key does with it.
        for key in keys if not path.startswith("/admin/") else ():
            for value in ONE_BY_ONE:
                response = admin_client_role.get(path, {key: value})
                if response.status_code >= 500:
                    errors.append((path, [key], value[:30], response.status_code))
    assert errors == []
