"""The journey path lines on the unified timeline ("Entered Welcome series", "Waited 2 days", "Converted")."""

from profiles.unify.timeline import TimelineItem, keyset_page

from .models import StepLog

ICONS = {
    "entered": "signpost-split",
    "converted": "trophy",
    "exited": "box-arrow-right",
    "completed": "flag",
    "skipped": "skip-forward",
    "failed": "exclamation-triangle",
}


class JourneyTimeline:
    kind = "journey"
    label = "Journey"
    icon = "signpost-split"

    def items(self, *, profile, contact, cursor, limit) -> list[TimelineItem]:
        if profile is None:
            return []
        rows = keyset_page(
            StepLog.objects.filter(profile=profile).select_related("journey"),
            time_field="at",
            kind=self.kind,
            cursor=cursor,
            limit=limit,
        )
        return [
            TimelineItem(
                time=row.at,
                kind=self.kind,
                id=row.pk,
                icon=ICONS.get(row.kind, self.icon),
                summary=f"{row.journey.name}: {row.summary}",
                channel="journeys",
                details={"journey": row.journey.name, "step": row.step or "—"},
            )
            for row in rows
        ]
