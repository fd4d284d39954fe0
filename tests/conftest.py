"""Shared fixtures: users per role, logged-in clients, API clients, a real Celery worker, a browser."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test.signals import template_rendered
from django.utils import timezone
from rest_framework.test import APIClient
from template_partials.templatetags.partials import TemplateProxy

from cdpcrm.celery import app as celery_app
from cdpcrm.roles import ADMIN, MARKETING, SALES, STAFF_ROLES, SUPPORT, roles_sync
from common.security.tokens import api_token_create

from .factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
USES_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
HAS_BROKER = not settings.CELERY_TASK_ALWAYS_EAGER
# Persistent connections would outlive live-server threads and block dropping the test database.
settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
# Factories create many users; real password hashing would dominate the suite's run time.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _partial_render_instrumented(self, context):
    # Django instruments Template._render so the test client sees `response.context`; a page rendered as
    # "file.html#partial" (django-template-partials) renders through TemplateProxy, instrumented the same way.
    template_rendered.send(sender=self, template=self, context=context)
    return self.nodelist.render(context)


TemplateProxy._render = _partial_render_instrumented


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "worker" in item.keywords and not (USES_POSTGRES and HAS_BROKER):
            item.add_marker(
                pytest.mark.skip(
                    reason="needs a real broker and PostgreSQL: set DATABASE_URL and CELERY_BROKER_URL"
                )
            )
        if "postgres" in item.keywords and not USES_POSTGRES:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if "browser" in item.keywords and not shutil.which(CHROMIUM):
            item.add_marker(
                pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
            )


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate counters and drain flags are keyed by ids a later test's rows may reuse: start each test clean."""
    cache.clear()
    yield


EAGER_KEY = "CELERY_TASK_ALWAYS_EAGER"


def celery_eager_set(eager: bool) -> None:
    """Run tasks in-process (True) or send them to the broker (False).

    The app reads Django settings under the CELERY namespace, and there the namespaced key (from settings)
    shadows a plain `conf.task_always_eager = ...`, which therefore changes nothing once a broker is set.
    """
    celery_app.conf.changes[EAGER_KEY] = eager


@pytest.fixture(autouse=True)
def _celery_eager(request):
    """Tasks run in-process unless the test drives a real worker (marked `worker`)."""
    changes = celery_app.conf.changes
    had, previous = EAGER_KEY in changes, changes.get(EAGER_KEY)
    celery_eager_set("worker" not in request.keywords)
    yield
    if had:
        changes[EAGER_KEY] = previous
    else:
        changes.pop(EAGER_KEY, None)


def _user_in_role(role: str, **kwargs):
    if not Group.objects.filter(name=role).exists():
        roles_sync()  # a transactional test before this one flushed the groups the migration made
    user = UserFactory(is_staff=role in STAFF_ROLES, is_superuser=role == ADMIN, **kwargs)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def sales_user(db):
    return _user_in_role(SALES, username="sam.sales")


@pytest.fixture
def support_user(db):
    return _user_in_role(SUPPORT, username="sofia.support")


@pytest.fixture
def marketing_user(db):
    return _user_in_role(MARKETING, username="maya.marketing")


@pytest.fixture
def admin_user(db):
    return _user_in_role(ADMIN, username="ada.admin")


def _logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def sales_client(client, sales_user):
    return _logged_in(client, sales_user)


@pytest.fixture
def support_client(client, support_user):
    return _logged_in(client, support_user)


@pytest.fixture
def marketing_client(client, marketing_user):
    return _logged_in(client, marketing_user)


@pytest.fixture
def admin_client_role(client, admin_user):
    return _logged_in(client, admin_user)


def _api_client(user) -> APIClient:
    token, key = api_token_create(user=user, name="tests")
    # A token's first request records last_used_at (one UPDATE, then at most every 5 minutes); mark it used
    # so tests that compare the query counts of two requests compare like with like.
    type(token).objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


@pytest.fixture
def sales_api(sales_user):
    return _api_client(sales_user)


@pytest.fixture
def support_api(support_user):
    return _api_client(support_user)


@pytest.fixture
def marketing_api(marketing_user):
    return _api_client(marketing_user)


@pytest.fixture
def admin_api(admin_user):
    return _api_client(admin_user)


class CeleryWorkers:
    """Starts real `celery worker` processes against the test database; kills them on teardown."""

    def __init__(self):
        self.processes: list[subprocess.Popen] = []

    def start(
        self,
        *,
        queues: str = "default,ingest,segments,journeys,activation,email",
        concurrency: int = 1,
        pool: str = "prefork",
        name: str | None = None,
        beat: bool = False,
    ) -> subprocess.Popen:
        from django.db import connection

        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONUNBUFFERED": "1",
        }
        node = name or f"test{len(self.processes)}-{os.getpid()}"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cdpcrm",
                "worker",
                "-Q",
                queues,
                "-c",
                str(concurrency),
                "-P",
                pool,
                "-n",
                f"{node}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "WARNING",
                # Beat inside the worker (-B) runs CELERY_BEAT_SCHEDULE, as `celery beat` does in production.
                *(
                    [
                        "-B",
                        "-s",
                        str(Path(tempfile.gettempdir()) / f"beat-{os.getpid()}-{len(self.processes)}"),
                    ]
                    if beat
                    else []
                ),
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        self.processes.append(process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            replies = celery_app.control.ping(destination=[f"{node}@{os.uname().nodename}"], timeout=0.5)
            if replies:
                return process
            if process.poll() is not None:
                raise RuntimeError("celery worker exited during start-up")
        raise RuntimeError("celery worker did not answer a ping within 30 s")

    def kill(self, process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            # Pool children outlive a parent that died first; they hold connections to the test database.
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Their database sessions end a moment later; end them now so the test database can be dropped.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture
def celery_workers(transactional_db):
    """Real Celery workers (PostgreSQL + broker only; the test is skipped otherwise)."""
    celery_app.control.purge()
    workers = CeleryWorkers()
    yield workers
    workers.stop_all()
    celery_app.control.purge()


@pytest.fixture
def browser_page(live_server):
    """A Playwright page in the system Chromium, pointed at the live server."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def browser_login(browser_page):
    """Log a user in through the real login form: `browser_login(user)` returns the page."""

    def login(user, password: str = "pw-for-tests-1"):
        user.set_password(password)
        user.save()
        browser_page.goto("/accounts/login/")
        browser_page.fill("#id_username", user.username)
        browser_page.fill("#id_password", password)
        browser_page.click("button[type=submit]")
        browser_page.wait_for_url("**/")
        return browser_page

    return login
