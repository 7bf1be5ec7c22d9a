"""The response value routes return, and the SEC/GitHub error bodies."""

import datetime as dt
from dataclasses import dataclass, field

from . import FIXTURES
from .cache import Body, hash_bytes
from .dates import http_date, parse_http_date
from .disk import DiskBody

# Why an error was answered, as the request log names it: SEC answers 403 for all three.
THROTTLE, NO_SUCH_OBJECT, UNDECLARED_UA = "throttle", "no_such_object", "undeclared_ua"


@dataclass
class Response:
    status: int
    body: Body | DiskBody | bytes = b""
    ctype: str = "application/json"
    headers: dict = field(default_factory=dict)
    why: str | None = None

    @property
    def raw(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else self.body.raw


def text(status: int, body: str, ctype: str = "text/plain; charset=utf-8", **headers) -> Response:
    return Response(status, body.encode(), ctype, headers)


def conditional(
    resp: Response, last_modified: dt.datetime, request_headers, etag: bool = True
) -> Response:
    """Add validators and answer 304 when the client's copy is current (www.sec.gov behaviour)."""
    resp.headers["Last-Modified"] = http_date(last_modified)
    if etag:
        resp.headers["ETag"] = (
            f'"{abs(hash_bytes(resp.body)):x}"' if isinstance(resp.body, bytes) else resp.body.etag
        )
    match = request_headers.get("If-None-Match")
    since = parse_http_date(request_headers.get("If-Modified-Since"))
    if (match and match == resp.headers.get("ETag")) or (
        not match and since and last_modified <= since
    ):
        return Response(304, b"", resp.ctype, resp.headers)
    return resp


_ERRORS = {}


def _fixture_error(name: str) -> str:
    if name not in _ERRORS:
        _ERRORS[name] = (FIXTURES / "edgar/errors" / name).read_text()
    return _ERRORS[name]


def access_denied() -> Response:
    """What www.sec.gov/Archives answers for an object that does not exist (S3 behind it)."""
    return Response(
        403,
        _fixture_error("archives-403-AccessDenied.xml").encode(),
        "application/xml",
        why=NO_SUCH_OBJECT,
    )


def no_such_key(key: str) -> Response:
    body = _fixture_error("data.sec.gov-404-NoSuchKey.xml").replace(
        "<Key>submissions/CIK-000000001.json</Key>", f"<Key>{key}</Key>"
    )
    return Response(404, body.encode(), "application/xml", why=NO_SUCH_OBJECT)


_SEC_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
<head>
<title>SEC.gov | Request Rate Threshold Exceeded</title>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />
</head>
<body>
<div id="content">
<h1>{heading}</h1>
{paragraphs}
<p>For best practices on efficiently downloading information from SEC.gov, including the latest EDGAR filings, visit <a href="https://www.sec.gov/developer" target="_blank">sec.gov/developer</a>. You can also <a href="https://public.govdelivery.com/accounts/USSEC/subscriber/new?topic_id=USSEC_260" target="_blank">sign up for email updates</a> on the SEC open data program, including best practices that make it more efficient to download data, and SEC.gov enhancements that may impact scripted downloading processes. For more information, contact <a href="mailto:opendata@sec.gov">opendata@sec.gov</a>.</p>
<p>For more information, please see the SEC's <a href="#internet">Web Site Privacy and Security Policy</a>. Thank you for your interest in the U.S. Securities and Exchange Commission.</p>
<p>Reference ID: {reference}</p>
</div>
</body>
</html>
"""


def rate_exceeded(reference: str) -> Response:
    paras = (
        "<p>To allow for equitable access to all users, SEC reserves the right to limit requests "
        "originating from undeclared automated tools. Your request rate has exceeded the SEC's maximum "
        "allowable requests per second. Your access to SEC.gov will be limited for 10 minutes.</p>\n"
        "<p>Please declare your traffic by updating your user agent to include company specific "
        "information. The block will be lifted automatically by waiting 10 minutes. Continuing to "
        "exceed the SEC's maximum allowable request rate during the time-out period will extend the "
        "duration of the time-out period.</p>"
    )
    body = _SEC_PAGE.format(
        heading="Request Rate Threshold Exceeded", paragraphs=paras, reference=reference
    )
    return Response(403, body.encode(), "text/html", why=THROTTLE)


def undeclared_tool(reference: str) -> Response:
    paras = (
        "<p>Your request has been identified as part of a network of automated tools outside of the "
        "acceptable policy and will be managed until action is taken to declare your traffic.</p>\n"
        "<p>Please declare your traffic by updating your user agent to include company specific "
        "information.</p>"
    )
    body = _SEC_PAGE.format(
        heading="Your Request Originates from an Undeclared Automated Tool",
        paragraphs=paras,
        reference=reference,
    )
    return Response(403, body.encode(), "text/html", why=UNDECLARED_UA)
