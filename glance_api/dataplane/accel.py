"""Image bytes carried by nginx, while the app decides (``ACCEL_SECRET``).

Behind the nginx of ``deploy/``, which sends ``ACCEL_SECRET`` in ``X-Glance-Api-Accel``
on every request it passes on, the app still checks everything (the caller, the image,
its state, the range, the answer's headers), then hands the bytes to nginx:

- A download answers with ``X-Accel-Redirect`` to nginx's internal location
  ``/_glance_data/v2/images/<id>/file``, which streams Glance's answer to the client. The
  answer's headers carry what nginx needs: the caller's token (``X-Glance-Token``) and
  the range to ask Glance for (``X-Glance-Range``), which nginx takes into variables
  and never passes on to the client.
- An upload (``PUT`` an image's ``file/`` or ``stage/``, an upload URL) is authorized by
  :class:`glance_api.views.accel.UploadAuthorizationView` (nginx's ``auth_request``),
  then streamed by nginx to Glance; a refusal goes back as :func:`refusal` says.

Without the secret (``make run``, gunicorn alone, a request that did not come through
that nginx) the app streams the bytes itself, as it always has.
"""

import hmac
import json

from django.views.decorators.debug import sensitive_variables

from ..conf import settings

HEADER = "X-Glance-Api-Accel"
GLANCE_LOCATION = "/_glance_data"
# what nginx takes from the app's answer and never passes on
TOKEN_HEADER = "X-Glance-Token"
RANGE_HEADER = "X-Glance-Range"


@sensitive_variables()
def through_nginx(request) -> bool:
    """Whether the request came through the nginx that carries image bytes."""
    secret = settings.ACCEL_SECRET
    if not secret:
        return False
    given = request.headers.get(HEADER, "")
    return hmac.compare_digest(given.encode(), secret.encode())


@sensitive_variables()
def download(response, image_id: str, token: str, byte_range: tuple[int, int] | None):
    """``response`` (the download's headers, no body) handed to nginx, which streams the
    image's bytes (or ``byte_range`` of them) from Glance with ``token``."""
    response[TOKEN_HEADER] = token
    response[RANGE_HEADER] = f"bytes={byte_range[0]}-{byte_range[1]}" if byte_range else ""
    response["X-Accel-Redirect"] = f"{GLANCE_LOCATION}/v2/images/{image_id}/file"
    response["X-Accel-Buffering"] = "no"
    for name in ("Content-Length", "Content-Range"):  # Glance's own, through nginx
        if name in response:
            del response[name]
    return response


def refusal(response):
    """An authorization's answer as nginx's ``auth_request`` takes it: it understands only
    401 and 403, so an error of any other status is a 403, and every error carries the
    status and JSON body the client must get in ``X-Refusal-Status`` and
    ``X-Refusal-Body``. nginx's ``@upload_refused`` answers with them: one branch per
    status of ``exceptions.ERROR_STATUSES``, which deploy/stack.py writes (any other
    status is nginx's own 403, so none is passed on)."""
    if response.status_code < 400 or "X-Refusal-Status" in response:
        return response
    response["X-Refusal-Status"] = str(response.status_code)
    # ASCII, one line: a header's value
    response["X-Refusal-Body"] = json.dumps(response.data, ensure_ascii=True)[:2000]
    if response.status_code not in (401, 403):
        response.status_code = 403
    return response
