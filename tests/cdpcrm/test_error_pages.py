"""403, 404 and 500 are styled pages with the navigation, never the bare defaults or a traceback."""

import pytest
from django.urls import path

from cdpcrm import urls as project_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom), *project_urls.urlpatterns]
handler500 = project_urls.handler500


def test_404_is_a_page_with_the_navigation(sales_client):
    response = sales_client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404 and "Page not found" in html
    assert 'class="navbar' in html and 'data-status="404"' in html and "Contacts" in html


def test_403_is_a_page_with_the_navigation(marketing_client):
    response = marketing_client.get("/contacts/new/")
    html = response.content.decode()
    assert response.status_code == 403 and "have access to this" in html and 'class="navbar' in html


def test_500_is_a_page_with_the_navigation_and_no_traceback(sales_client, settings):
    settings.ROOT_URLCONF = __name__
    sales_client.raise_request_exception = False
    response = sales_client.get("/boom/")
    html = response.content.decode()
    assert response.status_code == 500 and "Something went wrong on our side" in html
    assert 'class="navbar' in html and "RuntimeError" not in html and "Traceback" not in html


def test_500_falls_back_to_a_plain_page_when_the_styled_one_fails(rf, monkeypatch):
    from cdpcrm import views

    def broken(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(views, "render", broken)
    response = views.server_error(rf.get("/"))
    assert response.status_code == 500 and "Something went wrong on our side" in response.content.decode()
