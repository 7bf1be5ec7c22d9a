"""Secrets in notification URLs: `${VAR}` comes from the environment (or the `.env` the
scheduled job reads), and what is shown of a URL is only its scheme and host."""

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.IGNORECASE)


def expand(text: str, environ: Mapping[str, str]) -> str:
    """`text` with every `${VAR}` replaced; KeyError(name) for a variable unset or empty."""

    def value(match: re.Match) -> str:
        if not environ.get(match.group(1)):
            raise KeyError(match.group(1))
        return environ[match.group(1)]

    return _VARIABLE.sub(value, text)


# Schemes whose host is a server's name. In most other apprise URLs the "host" is a secret
# itself: slack://TokenA/TokenB/TokenC, discord://WebhookID/Token, tgram://BotToken/ChatID.
SERVER_SCHEMES = {
    "http",
    "https",
    "json",
    "jsons",
    "xml",
    "xmls",
    "form",
    "forms",
    "mailto",
    "mailtos",
}


def redact(url: str) -> str:
    """`scheme://host:port`, and `/...` when the URL had user info, a path or a query; only
    `scheme://...` for a scheme whose host may be a token; text that is no URL at all may be a
    secret pasted on its own, so none of it is shown."""
    if "://" not in url:
        return "(text that is not a URL)"
    parts = urlsplit(url)
    if parts.scheme.lower() not in SERVER_SCHEMES:
        return f"{parts.scheme}://..."
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    hidden = parts.username or parts.password or parts.path.strip("/") or parts.query
    return f"{parts.scheme}://{parts.hostname or ''}{port}" + ("/..." if hidden else "")


def secrets_of(urls: Iterable[str]) -> set[str]:
    """The parts of `urls` that must never be shown: user, password, path segments, query
    values (each also URL-decoded)."""
    found: set[str] = set()
    for url in urls:
        parts = urlsplit(url)
        pieces = [parts.username, parts.password, *parts.path.split("/")]
        pieces += [p.partition("=")[2] for p in re.split(r"[&;]", parts.query)]
        for piece in pieces:
            if piece and len(piece) > 2:
                found |= {piece, unquote(piece)}
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every URL redacted and every known secret replaced by `***`."""
    text = _ANY_URL.sub(lambda m: redact(m.group(0)), text)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
