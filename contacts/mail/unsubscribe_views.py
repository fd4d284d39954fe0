"""The public unsubscribe endpoint of automated e-mail (no login: the recipient has none; a signed token).

GET shows one button, so a mail scanner that follows links unsubscribes nobody; POST (the button, or a mail
client's RFC 8058 one-click request, which carries no CSRF token) records the opt-out. A bad token is a 404.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .models import Unsubscribe
from .unsubscribe import unsubscribe_message, unsubscribe_record


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    message = unsubscribe_message(token)
    if message is None:
        raise Http404("This unsubscribe link is not valid.")
    address = ", ".join(message.to)
    done = False
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        unsubscribe_record(
            message=message, source=Unsubscribe.Source.ONE_CLICK if one_click else Unsubscribe.Source.LINK
        )
        done = True
    response = render(request, "mail/unsubscribe.html", {"address": address, "done": done})
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
