"""The reports index: each entry names a page of an app and the permission needed to see it."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Report:
    title: str
    description: str
    url_name: str
    permission: str
    icon: str = "bar-chart"


# Apps add their reports here as they ship them.
REPORTS: list[Report] = [
    Report(
        "Contacts by lifecycle stage",
        "How many contacts sit in each lifecycle stage, per owner.",
        "contacts:lifecycle_report",
        "contacts.view_contact",
        "funnel",
    ),
]
REPORTS.append(
    Report(
        "Support performance",
        "First response time, resolution time and SLA attainment per team, agent and priority.",
        "tickets:metrics",
        "tickets.view_ticket",
        "speedometer2",
    )
)


REPORTS.append(
    Report(
        "Sales forecast",
        "Weighted, best-case, committed and closed-won amounts for the next 6 months and per quarter.",
        "pipeline:forecast",
        "pipeline.view_deal",
        "graph-up",
    )
)


REPORTS.append(
    Report(
        "Win rates and deals by stage",
        "Won vs lost deals per owner over the last 90 days to 12 months, and the open pipeline per stage.",
        "pipeline:win_rates",
        "pipeline.view_deal",
        "trophy",
    )
)


def reports_for(*, user) -> list[dict]:
    visible = []
    for report in REPORTS:
        if not user.has_perm(report.permission):
            continue
        try:
            url = reverse(report.url_name)
        except NoReverseMatch:
            continue
        visible.append({"report": report, "url": url})
    return visible
