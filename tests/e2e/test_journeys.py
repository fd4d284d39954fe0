"""A marketer builds a three-step journey in the admin builder, publishes it, and watches profiles move
through it on the journey page and on a profile's page."""

import datetime

import pytest
from django.utils import timezone

from segments.journeys.models import Journey
from segments.journeys.sweeper import due_steps_process
from segments.journeys.triggers import events_arrived
from tests.segments import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_builds_a_three_step_journey_and_sees_profiles_move(browser_login, marketing_user):
    page = browser_login(marketing_user)
    page.goto("/admin/journeys/journey/add/")
    page.fill("#id_name", "Welcome series")
    page.select_option(".jb-trigger-type", "event")
    page.fill(".jb-event", "Signed Up")
    # Step 1: wait 10 minutes.
    page.select_option(".jb-new-type", "wait")
    page.click(".jb-add-step")
    step1 = page.locator(".jb-step").nth(0)
    step1.locator(".jb-amount").fill("10")
    step1.locator(".jb-unit").select_option("minutes")
    # Step 2: branch on the plan trait.
    page.select_option(".jb-new-type", "branch")
    page.click(".jb-add-step")
    step2 = page.locator(".jb-step").nth(1)
    step2.locator(".rb-add-condition").click()
    condition = step2.locator(".rb-condition").nth(0)
    condition.locator(".rb-trait").fill("plan")
    condition.locator(".rb-trait").dispatch_event("change")
    condition.locator(".rb-op").select_option("eq")
    condition.locator(".rb-input").fill("pro")
    # Step 3: tag the pro customers' contacts.
    page.select_option(".jb-new-type", "tag")
    page.click(".jb-add-step")
    step3 = page.locator(".jb-step").nth(2)
    step3.locator(".jb-tag").fill("pro-welcome")
    # Wire them: wait -> branch; branch yes -> tag, no -> end.
    step1.locator(".jb-next-step").select_option("branch2")
    step2.locator(".jb-yes").select_option("tag3")
    page.check("#id_publish")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/journeys/journey/")
    journey = Journey.objects.get(name="Welcome series")
    assert journey.status == "live" and journey.live_version.number == 1
    assert [s["id"] for s in journey.live_version.definition["steps"]] == ["wait1", "branch2", "tag3"]

    pro = f.profile(traits={"plan": "pro", "name": "Pat Pro"}, email="pat@example.com")
    free = f.profile(traits={"plan": "free", "name": "Fred Free"}, email="fred@example.com")
    for profile in (pro, free):
        f.event(profile, "Signed Up")
    events_arrived(profile_ids=[pro.pk, free.pk])
    due_steps_process()

    page.goto(f"/journeys/{journey.pk}/")
    assert page.inner_text("#step-wait1 [data-here]") == "2"
    assert page.inner_text("[data-total=entered]") == "2"

    due_steps_process(now=timezone.now() + datetime.timedelta(minutes=11))
    page.reload()
    assert page.inner_text("#step-wait1 [data-here]") == "0"
    assert page.inner_text("[data-total=active]") == "0"
    page.goto(f"/cdp/profiles/{pro.pk}/")
    page.wait_for_selector(".journey-path")
    path = page.inner_text(".journey-path")
    assert (
        "Entered Welcome series" in path
        and "Waited 10 minutes" in path
        and "Branch on a condition: yes" in path
    )


def test_marketer_adds_an_email_step_with_template_and_mailbox(browser_login, marketing_user):
    from contacts.mail.models import EmailTemplate, Mailbox

    template = EmailTemplate.objects.create(name="Welcome 2", subject="Hi", body="Hello")
    mailbox = Mailbox.objects.create(
        name="Newsletter", email_address="news@shop.example", smtp_host="smtp.shop.example"
    )
    page = browser_login(marketing_user)
    page.goto("/admin/journeys/journey/add/")
    page.fill("#id_name", "Welcome mail")
    page.select_option(".jb-trigger-type", "event")
    page.fill(".jb-event", "Signed Up")
    page.select_option(".jb-new-type", "send_email")
    page.click(".jb-add-step")
    step = page.locator(".jb-step").nth(0)
    step.locator(".jb-template").select_option(label="Welcome 2")
    step.locator(".jb-mailbox").select_option(label="Newsletter <news@shop.example>")
    page.check("#id_publish")
    page.click("input[name=_save]")
    page.wait_for_url("**/admin/journeys/journey/")
    (saved,) = Journey.objects.get(name="Welcome mail").live_version.definition["steps"]
    assert (saved["type"], saved["template"], saved["mailbox"]) == ("send_email", template.pk, mailbox.pk)
