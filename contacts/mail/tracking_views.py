"""The two public endpoints of tracked e-mail (no login: the recipient's mail client calls them).

Both take a signed token (tracking.py). The pixel always answers the same transparent GIF, so it tells a
prober nothing; a click with a bad token gets a plain 404 page, never a redirect.
"""

import base64

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_GET

from .tracking import click_record, open_record, token_read

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@login_not_required
@require_GET
def track_open(request: HttpRequest, token: str) -> HttpResponse:
    parsed = token_read(token)
    if parsed is not None and parsed[0] == "open":
        open_record(message_pk=parsed[1])
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@login_not_required
@require_GET
def track_click(request: HttpRequest, token: str) -> HttpResponse:
    parsed = token_read(token)
    url = click_record(message_pk=parsed[1], position=parsed[2]) if parsed and parsed[0] == "click" else None
    if url is None:
        raise Http404("This link is not valid.")
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    return response
