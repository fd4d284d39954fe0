"""Panels registered by higher apps appear on the contact and company pages and load with htmx."""

import pytest

from contacts import panels
from contacts.panels import Panel

from .factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr(panels, "CONTACT_PANELS", {})
    monkeypatch.setattr(panels, "COMPANY_PANELS", {})
    panels.contact_panel_register(
        Panel("facts-tab", "Facts again", "contacts:contact_facts", "contacts.view_contact", icon="star")
    )
    panels.contact_panel_register(
        Panel("side-card", "Side card", "contacts:contact_facts", "contacts.view_contact", placement="side")
    )
    panels.contact_panel_register(Panel("secret", "Secret", "contacts:contact_facts", "auth.delete_user"))
    panels.contact_panel_register(Panel("unshipped", "Not yet", "nowhere:page", "contacts.view_contact"))
    panels.company_panel_register(
        Panel("company-tab", "Company extra", "contacts:company_detail", "contacts.view_company")
    )


def test_main_panels_are_tabs_and_side_panels_are_cards_loading_their_url(registered, sales_client):
    contact = ContactFactory()
    html = sales_client.get(contact.get_absolute_url()).content.decode()
    facts_url = f"/contacts/{contact.pk}/facts/"
    assert 'data-bs-target="#panel-facts-tab"' in html and "Facts again" in html
    assert f'hx-get="{facts_url}" hx-trigger="load, crm-contact-changed from:body"' in html
    assert 'id="panel-side-card"' in html and "Side card" in html
    assert "Secret" not in html  # the user lacks the panel's permission
    assert "Not yet" not in html  # its URL name does not resolve (app not shipped)


def test_company_panels_render_on_the_company_page(registered, sales_client):
    company = CompanyFactory()
    html = sales_client.get(company.get_absolute_url()).content.decode()
    assert "Company extra" in html and f'hx-get="/companies/{company.pk}/"' in html
