"""Rules holding what the databases refuse (NUL, lone surrogates, numbers and windows out of range) are
refused with the documented 400 naming the node, from the preview, create and update alike."""

import json

import pytest

from segments.models import Segment

from . import factories as f

pytestmark = pytest.mark.django_db

HUGE = 100000000000000000000

# (rule, the path the 400 must name)
HOSTILE = [
    ({"trait": "email", "op": "eq", "value": "\u0000"}, "value"),
    ({"trait": "email", "op": "contains", "value": "a\u0000b"}, "value"),
    ({"trait": "email", "op": "eq", "value": "\ud800"}, "value"),
    ({"all": [{"trait": "tier", "op": "in", "value": ["gold", "\u0000"]}]}, "all[0].value[1]"),
    ({"event": "Order\u0000Completed"}, "event"),
    ({"event": "Order", "where": [{"property": "sku", "op": "eq", "value": "\udfff"}]}, "where[0].value"),
    ({"crm": "contact.owner", "op": "eq", "value": "\u0000"}, "value"),
    ({"crm": "contact.tag", "op": "in", "value": ["vip", "\u0000"]}, "value[1]"),
    ({"event": "Order", "within": {"days": HUGE}}, "within.days"),
    ({"event": "Order", "within": {"days": 10_000_000}}, "within.days"),
    ({"event": "Order", "within": {"hours": HUGE}}, "within.hours"),
    ({"not": {"event": "Order", "within": {"minutes": HUGE}}}, "not.within.minutes"),
    ({"trait": "spend", "op": "gt", "value": HUGE}, "value"),
    ({"trait": "spend", "op": "eq", "value": HUGE}, "value"),
    ({"trait": "spend", "op": "in", "value": [1, HUGE]}, "value"),
    ({"trait": "spend", "op": "between", "value": [0, HUGE]}, "value"),
    ({"crm": "deal.amount", "op": "gte", "value": -HUGE}, "value"),
    ({"trait": "seen", "op": "before", "value": "9999-12-31T23:59:59-14:00"}, "value"),
    ({"trait": "seen", "op": "after", "value": "0001-01-01T00:00:00+14:00"}, "value"),
    ({"segment": HUGE}, "segment"),
]


def _send(api, method: str, url: str, body: dict):
    # As a client sends them: JSON escapes (a lone surrogate cannot be encoded as UTF-8 text).
    return getattr(api, method)(url, data=json.dumps(body), content_type="application/json")


def _expect_rule_error(response, path: str) -> None:
    assert response.status_code == 400, response.content
    messages = response.json()["rule"]
    assert any(message.startswith(f"{path}: ") for message in messages), messages


@pytest.mark.parametrize(("rule", "path"), HOSTILE)
def test_preview_refuses_hostile_rules_with_the_node_path(marketing_api, rule, path):
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    response = _send(marketing_api, "post", f"/api/segments/{seg.pk}/preview/", {"rule": rule})
    _expect_rule_error(response, path)


@pytest.mark.parametrize(("rule", "path"), HOSTILE)
def test_create_and_update_refuse_hostile_rules_with_the_node_path(marketing_api, rule, path):
    created = _send(marketing_api, "post", "/api/segments/", {"name": "Hostile", "rule": rule})
    _expect_rule_error(created, path)
    assert not Segment.objects.filter(name="Hostile").exists()
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    updated = _send(marketing_api, "patch", f"/api/segments/{seg.pk}/", {"rule": rule})
    _expect_rule_error(updated, path)
    seg.refresh_from_db()
    assert seg.rule == {"trait": "tier", "op": "eq", "value": "gold"}


def test_the_largest_allowed_window_and_numbers_still_preview(marketing_api):
    seg = f.segment({"trait": "tier", "op": "eq", "value": "gold"})
    f.profile(traits={"spend": 2**53 - 1})
    rule = {
        "any": [
            {"event": "Order", "within": {"days": 36500}},
            {"trait": "spend", "op": "gte", "value": 2**53 - 1},
            {"trait": "spend", "op": "gt", "value": -(2**53) + 1.5},
        ]
    }
    response = _send(marketing_api, "post", f"/api/segments/{seg.pk}/preview/", {"rule": rule})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1
