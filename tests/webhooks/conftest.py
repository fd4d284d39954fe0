import pytest

from .receiver import Receiver


@pytest.fixture(autouse=True)
def _allow_local(settings):
    """The receivers listen on 127.0.0.1, which the SSRF guard refuses unless it is allowed."""
    settings.OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()
