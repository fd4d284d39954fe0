"""Saved views of the list pages: reads and writes (one transaction each, errors that name the field)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from ..models import SavedView
from .state import ListState, state_from_saved

NAME_MAX = 80


def saved_views_for(*, user, list_key: str) -> list[SavedView]:
    """The user's own views of a list and the views others shared, by name."""
    return list(
        SavedView.objects.filter(Q(owner=user) | Q(shared=True), list_key=list_key)
        .select_related("owner")
        .order_by("name", "id")
    )


def _name_clean(*, user, list_key: str, name: str, exclude_id: int | None = None) -> str:
    name = " ".join((name or "").replace("\x00", "").split())
    if not name:
        raise ValidationError({"name": "Give the view a name."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"A view name has at most {NAME_MAX} characters."})
    clash = SavedView.objects.filter(owner=user, list_key=list_key, name__iexact=name)
    if exclude_id:
        clash = clash.exclude(pk=exclude_id)
    if clash.exists():
        raise ValidationError({"name": "You already have a view with this name on this list."})
    return name


def _may_change(view: SavedView, user) -> bool:
    return view.owner_id == user.pk or (view.shared and user.is_superuser)


@transaction.atomic
def saved_view_create(*, user, state: ListState, name: str, shared: bool = False) -> SavedView:
    list_key = state.spec.key
    name = _name_clean(user=user, list_key=list_key, name=name)
    return SavedView.objects.create(
        list_key=list_key, name=name, owner=user, shared=bool(shared), state=state.saved_state()
    )


@transaction.atomic
def saved_view_update(
    *, view: SavedView, user, state: ListState | None = None, name: str | None = None, shared=None
) -> SavedView:
    """Replace the view's state with `state`, and/or rename or (un)share it. Only its owner may."""
    if not _may_change(view, user):
        raise PermissionDenied("Only the person who saved this view can change it.")
    fields = ["updated_at"]
    if name is not None:
        view.name = _name_clean(user=view.owner, list_key=view.list_key, name=name, exclude_id=view.pk)
        fields.append("name")
    if shared is not None:
        view.shared = bool(shared)
        fields.append("shared")
    if state is not None:
        view.state = state.saved_state()
        fields.append("state")
    view.save(update_fields=fields)
    return view


@transaction.atomic
def saved_view_delete(*, view: SavedView, user) -> None:
    if not _may_change(view, user):
        raise PermissionDenied("Only the person who saved this view can delete it.")
    view.delete()


def saved_view_tabs(*, user, state: ListState, views: list[SavedView]) -> list[dict]:
    """Per view: its link (the saved state as a query string), whether it is open and changed."""
    tabs = []
    for view in views:
        saved = state_from_saved(state.spec, view.state, saved_id=view.pk)
        active = state.saved_id == view.pk
        tabs.append(
            {
                "view": view,
                "querystring": saved.querystring(),
                "active": active,
                "modified": active and saved.saved_state() != state.saved_state(),
                "mine": view.owner_id == user.pk,
                "can_change": _may_change(view, user),
            }
        )
    return tabs
