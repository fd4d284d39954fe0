"""Rule trees: validation errors that name the node, the sentence, and every condition kind compiled."""

import datetime

import pytest
from django.utils import timezone

from profiles.models import ComputedTrait
from segments.rules import RuleError, rule_compile, rule_sentence, rule_validate

from . import factories as f

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 6, 15, 12, 0, tzinfo=datetime.UTC)


def matching(rule, now=NOW):
    rule_validate(rule=rule)
    return set(rule_compile(rule=rule, now=now).values_list("pk", flat=True))


def errors_of(rule, **kwargs):
    with pytest.raises(RuleError) as caught:
        rule_validate(rule=rule, **kwargs)
    return dict(caught.value.errors)


# --- validation ---------------------------------------------------------------------------------------


def test_unknown_operator_is_reported_at_its_path():
    rule = {
        "all": [
            {"trait": "plan", "op": "eq", "value": "pro"},
            {"trait": "age", "op": "gt", "value": 3},
            {"event": "Product Added", "where": [{"property": "category", "op": "like", "value": "shoes"}]},
        ]
    }
    errors = errors_of(rule)
    assert list(errors) == ["all[2].where[0].op"]
    assert "unknown operator 'like'" in errors["all[2].where[0].op"]


def test_wrong_value_types_are_refused_per_node():
    rule = {
        "any": [
            {"trait": "age", "op": "gt", "value": "ten"},
            {"trait": "city", "op": "in", "value": []},
            {"trait": "score", "op": "between", "value": [5, 1]},
            {"event": "Order Completed", "count": {"op": "gte", "value": -1}, "within": {"weeks": 2}},
            {"crm": "loyalty.tier", "op": "eq", "value": "diamond"},
            {"crm": "ticket.open", "op": "eq", "value": "yes"},
            {"not": {"trait": "joined", "op": "after", "value": "last tuesday"}},
        ]
    }
    errors = errors_of(rule)
    assert set(errors) == {
        "any[0].value",
        "any[1].value",
        "any[2].value",
        "any[3].count.value",
        "any[3].within",
        "any[4].value",
        "any[5].value",
        "any[6].not.value",
    }
    assert "diamond" in errors["any[4].value"]


def test_shape_errors_name_the_node():
    assert "rule" in str(errors_of({"all": []}).keys()) or errors_of({"all": []}) == {
        "all": "must be a non-empty list of conditions"
    }
    errors = errors_of(
        {"all": [{"trait": "a", "event": "b"}, "text", {"crm": "deal.colour", "op": "eq", "value": 1}]}
    )
    assert set(errors) == {"all[0]", "all[1]", "all[2].crm"}
    assert set(errors_of({"all": [{"trait": "a", "op": "eq", "value": 1, "extra": 2}]})) == {"all[0].extra"}


def test_unknown_computed_trait_is_refused_at_its_node():
    errors = errors_of({"all": [{"computed_trait": "orders_90d", "op": "gt", "value": 1}]})
    assert list(errors) == ["all[0].computed_trait"]
    assert "unknown computed trait" in errors["all[0].computed_trait"]


def test_computed_traits_defined_in_the_admin_and_built_ins_compile_and_read_well():
    ComputedTrait.objects.create(
        key="orders_90d", label="Orders in 90 days", aggregation="count", event_name="Order Completed"
    )
    loyal = f.profile()
    loyal.computed_traits = {"orders_90d": 3, "total_events": 40}
    loyal.save(update_fields=["computed_traits"])
    new = f.profile()
    new.computed_traits = {"orders_90d": 0, "total_events": 2}
    new.save(update_fields=["computed_traits"])
    f.profile()  # never computed: no value, never matches a comparison
    rule = {"all": [{"computed_trait": "orders_90d", "op": "gte", "value": 2}]}
    assert matching(rule) == {loyal.pk}
    assert matching({"computed_trait": "total_events", "op": "lt", "value": 10}) == {new.pk}
    assert rule_sentence(rule=rule) == "orders_90d ≥ 2"


def test_segment_references_must_exist_and_not_form_a_cycle():
    a = f.segment({"trait": "x", "op": "exists", "value": True})
    b = f.segment({"segment": a.pk})

    def lookup(segment_id):
        return {a.pk: a.rule, b.pk: b.rule}.get(segment_id)

    assert "cycle" in errors_of({"segment": b.pk}, segment_id=a.pk, segment_lookup=lookup)["segment"]
    assert "itself" in errors_of({"segment": a.pk}, segment_id=a.pk, segment_lookup=lookup)["segment"]
    assert "does not exist" in errors_of({"segment": 999999}, segment_lookup=lookup)["segment"]
    rule_validate(rule={"segment": a.pk}, segment_id=b.pk, segment_lookup=lookup)


# --- sentence ------------------------------------------------------------------------------------------


def test_sentence_reads_like_the_rule():
    rule = {
        "all": [
            {"trait": "loyalty_tier", "op": "in", "value": ["gold", "platinum"]},
            {
                "event": "Product Added",
                "where": [{"property": "category", "op": "eq", "value": "shoes"}],
                "count": {"op": "gte", "value": 2},
                "within": {"days": 7},
            },
            {"not": {"event": "Order Completed", "within": {"days": 30}}},
            {
                "any": [
                    {"crm": "deal.stage", "op": "in", "value": ["Negotiation"]},
                    {"crm": "ticket.open", "op": "eq", "value": True},
                ]
            },
        ]
    }
    assert rule_sentence(rule=rule) == (
        "loyalty_tier is one of “gold”, “platinum” and did “Product Added” where category is “shoes” "
        "at least 2 times in the last 7 days and did not do “Order Completed” in the last 30 days and "
        "(open deal stage is one of “Negotiation” or has an open ticket)"
    )
    assert rule_sentence(rule={"segment": 4}, segment_name=lambda i: "VIP") == "is in segment “VIP”"


# --- traits --------------------------------------------------------------------------------------------


def test_trait_operators():
    gold = f.profile(
        traits={"tier": "gold", "age": 41, "vip": True, "city": "Berlin", "joined": "2026-06-10"}
    )
    silver = f.profile(
        traits={"tier": "silver", "age": 25, "vip": False, "city": "Bern", "joined": "2025-01-01"}
    )
    weird = f.profile(traits={"tier": 7, "age": "41", "city": None})
    empty = f.profile(traits={})
    everyone = {gold.pk, silver.pk, weird.pk, empty.pk}

    assert matching({"trait": "tier", "op": "eq", "value": "gold"}) == {gold.pk}
    assert matching({"trait": "tier", "op": "neq", "value": "gold"}) == everyone - {gold.pk}
    assert matching({"trait": "city", "op": "contains", "value": "ER"}) == {gold.pk, silver.pk}
    assert matching({"trait": "city", "op": "starts_with", "value": "berl"}) == {gold.pk}
    assert matching({"trait": "tier", "op": "in", "value": ["gold", "silver"]}) == {gold.pk, silver.pk}
    assert matching({"trait": "tier", "op": "in", "value": [7, 8]}) == {weird.pk}
    assert matching({"trait": "age", "op": "gt", "value": 30}) == {gold.pk}  # "41" is text, not a number
    assert matching({"trait": "age", "op": "lte", "value": 25}) == {silver.pk}
    assert matching({"trait": "age", "op": "between", "value": [20, 41]}) == {gold.pk, silver.pk}
    assert matching({"trait": "vip", "op": "eq", "value": True}) == {gold.pk}
    assert matching({"trait": "vip", "op": "eq", "value": False}) == {silver.pk}
    assert matching({"trait": "city", "op": "exists", "value": True}) == {gold.pk, silver.pk}
    assert matching({"trait": "city", "op": "exists", "value": False}) == {weird.pk, empty.pk}
    assert matching({"trait": "joined", "op": "after", "value": "2026-01-01"}) == {gold.pk}
    assert matching({"trait": "joined", "op": "before", "value": "2026-01-01T00:00:00Z"}) == {silver.pk}
    assert matching({"trait": "joined", "op": "within_last_days", "value": 7}) == {gold.pk}
    assert matching({"trait": "joined", "op": "within_last_days", "value": 3}) == set()


def test_groups_and_not_treat_missing_values_as_not_matching():
    a = f.profile(traits={"plan": "pro", "seats": 10})
    b = f.profile(traits={"plan": "free"})
    c = f.profile(traits={})
    assert matching(
        {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"trait": "seats", "op": "gte", "value": 5}]}
    ) == {a.pk}
    assert matching(
        {"any": [{"trait": "plan", "op": "eq", "value": "free"}, {"trait": "seats", "op": "gte", "value": 5}]}
    ) == {a.pk, b.pk}
    assert matching({"not": {"trait": "seats", "op": "gte", "value": 5}}) == {b.pk, c.pk}
    assert matching({"not": {"not": {"trait": "seats", "op": "gte", "value": 5}}}) == {a.pk}


# --- events --------------------------------------------------------------------------------------------


def test_event_with_property_filter_count_and_window():
    twice = f.profile()
    f.event(twice, "Product Added", at=NOW - datetime.timedelta(days=1), category="shoes", price=80)
    f.event(twice, "Product Added", at=NOW - datetime.timedelta(days=6), category="shoes", price=20)
    once = f.profile()
    f.event(once, "Product Added", at=NOW - datetime.timedelta(days=2), category="shoes", price=50)
    f.event(once, "Product Added", at=NOW - datetime.timedelta(days=2), category="hats", price=50)
    old = f.profile()
    f.event(old, "Product Added", at=NOW - datetime.timedelta(days=8), category="shoes")
    f.event(old, "Product Added", at=NOW - datetime.timedelta(days=9), category="shoes")
    nothing = f.profile()

    shoes = [{"property": "category", "op": "eq", "value": "shoes"}]
    assert matching({"event": "Product Added", "where": shoes, "within": {"days": 7}}) == {twice.pk, once.pk}
    assert matching(
        {"event": "Product Added", "where": shoes, "count": {"op": "gte", "value": 2}, "within": {"days": 7}}
    ) == {twice.pk}
    assert matching({"event": "Product Added", "where": shoes, "count": {"op": "gte", "value": 2}}) == {
        twice.pk,
        old.pk,
    }
    assert matching({"event": "Product Added", "count": {"op": "eq", "value": 0}, "within": {"days": 7}}) == {
        old.pk,
        nothing.pk,
    }
    assert matching({"event": "Product Added", "count": {"op": "lt", "value": 2}, "within": {"days": 7}}) == {
        old.pk,
        nothing.pk,
    }
    assert matching(
        {"event": "Product Added", "where": [{"property": "price", "op": "gt", "value": 60}]}
    ) == {twice.pk}
    assert matching({"not": {"event": "Product Added", "within": {"hours": 36}}}) == {
        once.pk,
        old.pk,
        nothing.pk,
    }


def test_no_purchase_in_30_days_includes_people_who_never_bought():
    recent, lapsed, never = f.profile(), f.profile(), f.profile()
    f.event(recent, "Order Completed", at=NOW - datetime.timedelta(days=3))
    f.event(lapsed, "Order Completed", at=NOW - datetime.timedelta(days=31))
    assert matching({"not": {"event": "Order Completed", "within": {"days": 30}}}) == {lapsed.pk, never.pk}


# --- CRM facts -----------------------------------------------------------------------------------------


def test_crm_conditions_follow_the_contact_linked_by_email(django_user_model):
    owner = django_user_model.objects.create_user("owner.one", password="x")
    linked = f.profile(email="Ann@Example.com")
    other = f.profile(email="bob@example.com")
    unknown = f.profile()
    ann = f.contact(
        email="ann@example.com", owner=owner, lifecycle="customer", tags=["VIP"], tier="gold", points=1200
    )
    bob = f.contact(email="bob@example.com", lifecycle="lead", tier="silver", points=10)
    f.deal(contact=ann, stage_name="Negotiation", amount="5000")
    f.deal(contact=bob, stage_name="Closed lost", kind="lost")
    f.deal(contact=bob, stage_name="Qualified", amount="50")
    f.ticket(contact=ann, status="solved", priority="urgent")
    f.ticket(contact=bob, status="pending", priority="high")

    assert matching({"crm": "contact.lifecycle_stage", "op": "eq", "value": "customer"}) == {linked.pk}
    assert matching({"crm": "contact.lifecycle_stage", "op": "neq", "value": "customer"}) == {
        other.pk,
        unknown.pk,
    }
    assert matching({"crm": "contact.owner", "op": "eq", "value": "owner.one"}) == {linked.pk}
    assert matching({"crm": "contact.owner", "op": "exists", "value": False}) == {other.pk}
    assert matching({"crm": "contact.tag", "op": "eq", "value": "vip"}) == {linked.pk}
    assert matching({"crm": "contact.tag", "op": "neq", "value": "vip"}) == {other.pk, unknown.pk}
    assert matching({"crm": "deal.stage", "op": "eq", "value": "Negotiation"}) == {linked.pk}
    assert matching({"crm": "deal.stage", "op": "in", "value": ["Qualified", "Won"]}) == {other.pk}
    assert matching({"crm": "deal.amount", "op": "gte", "value": 1000}) == {linked.pk}
    assert matching({"crm": "deal.amount", "op": "between", "value": [10, 100]}) == {other.pk}
    assert matching({"crm": "ticket.open", "op": "eq", "value": True}) == {other.pk}
    assert matching({"crm": "ticket.open", "op": "eq", "value": False}) == {linked.pk, unknown.pk}
    assert matching({"crm": "ticket.priority", "op": "in", "value": ["high", "urgent"]}) == {other.pk}
    assert matching({"crm": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]}) == {linked.pk}
    assert matching({"crm": "loyalty.points", "op": "gt", "value": 1000}) == {linked.pk}
    assert matching({"crm": "loyalty.points", "op": "between", "value": [0, 100]}) == {other.pk}


def test_segment_membership_condition():
    from segments.services import segment_recompute

    vip = f.profile(traits={"vip": True})
    f.profile(traits={"vip": False})
    base = f.segment({"trait": "vip", "op": "eq", "value": True})
    segment_recompute(segment_id=base.pk, now=NOW)
    assert matching({"segment": base.pk}) == {vip.pk}


def test_compiled_rule_is_one_query(django_assert_num_queries):
    f.profile(traits={"tier": "gold"}, email="x@example.com")
    rule = {
        "all": [
            {"trait": "tier", "op": "eq", "value": "gold"},
            {"not": {"event": "Order Completed", "within": {"days": 30}}},
            {
                "any": [
                    {"crm": "ticket.open", "op": "eq", "value": True},
                    {"crm": "loyalty.tier", "op": "eq", "value": "gold"},
                ]
            },
        ]
    }
    with django_assert_num_queries(1):
        list(rule_compile(rule=rule, now=timezone.now()).values_list("pk", flat=True))


def test_crm_conditions_use_the_profile_contact_link_and_nothing_else():
    direct = f.contact(email="direct@example.com", lifecycle="customer")
    shared = f.contact(email="shared@example.com", lifecycle="lead")
    linked = f.profile(email="unknown@example.com")
    linked.contact = direct
    linked.save(update_fields=["contact"])
    # Holds the contact's e-mail as an identity but is not linked to it (the contact existed first and was
    # not saved since): the profile page shows no contact, so no CRM condition sees one either.
    by_email = f.profile(email="shared@example.com")
    assert by_email.contact_id is None
    assert matching({"crm": "contact.lifecycle_stage", "op": "eq", "value": "customer"}) == {linked.pk}
    assert matching({"crm": "contact.lifecycle_stage", "op": "eq", "value": "lead"}) == set()
    shared.save()  # saving the contact links the profile holding its e-mail (unify.contact)
    assert matching({"crm": "contact.lifecycle_stage", "op": "eq", "value": "lead"}) == {by_email.pk}
