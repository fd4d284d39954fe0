"""Helpers for journey tests: a live journey from a definition, profiles, running the sweeper."""

import pytest

from segments.journeys import services
from tests.mail.conftest import smtp_server  # noqa: F401 - the real SMTP server (aiosmtpd) of the mail tests


@pytest.fixture
def make_journey(db):
    def make(definition: dict, *, name: str = "Welcome series", live: bool = True, **kwargs):
        journey = services.journey_save(user=None, name=name, definition=definition, **kwargs)
        if live:
            services.journey_publish(journey=journey, user=None)
        return journey

    return make
