"""Audit receivers for actions without a service of ours: login lockouts (django-axes) and role changes."""

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from .audit import audit_record
from .models import AuditEntry


def _request_user():
    # simple_history's middleware keeps the current request; None outside a request (shell, migrations).
    request = getattr(HistoricalRecords.context, "request", None)
    return getattr(request, "user", None)


@receiver(user_locked_out)
def _audit_lockout(sender, request, username, ip_address, **kwargs):
    audit_record(
        actor=None,
        action=AuditEntry.Action.LOCKED_OUT,
        target=username or "",
        detail={"ip_address": ip_address, "path": getattr(request, "path", "")},
    )


@receiver(m2m_changed, sender=get_user_model().groups.through)
def _audit_role_change(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove") or not pk_set:
        return
    verb = AuditEntry.Action.ROLE_ADDED if action == "post_add" else AuditEntry.Action.ROLE_REMOVED
    actor = _request_user()
    if reverse:  # group.user_set.add(...): instance is the group, pk_set the users
        for user in get_user_model().objects.filter(pk__in=pk_set).only("username"):
            audit_record(actor=actor, action=verb, target=user.get_username(), detail={"role": instance.name})
    else:
        for name in Group.objects.filter(pk__in=pk_set).values_list("name", flat=True):
            audit_record(actor=actor, action=verb, target=instance.get_username(), detail={"role": name})
