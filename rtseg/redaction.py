"""What rtseg never shows: credentials in URLs, secret query parameters and tokens.

Every message, log line, progress line, stats file and report names a location by its
display form (`rtseg.io.location.Location`), which leaves secrets out. `redact` is the
net under that rule, for text a backend or FFmpeg wrote around a URL: it blanks the
userinfo of any URL in it, the values of secret query parameters, and every secret a
`Location` of this process was given (`remember`), wherever it appears.
"""

from __future__ import annotations

import logging
import re
import threading

HIDDEN = "***"
# Query parameters whose values are secrets: signed URLs (S3 `X-Amz-Signature`/`-Credential`
# and `-Security-Token`, Google's `X-Goog-Signature`, Azure SAS `sig`), OAuth tokens, keys.
SECRET_WORDS = ("signature", "credential", "token", "secret", "password", "passwd", "apikey")
SECRET_NAMES = {"sig", "key", "api_key", "auth", "code", "access_token", "pass"}

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]+@")
_PARAM = re.compile(r"([?&;])([^=&;#\s]+)=([^&;#\s'\"]*)")
# Secrets given to this process's Locations, longest first when replaced.
_known: set[str] = set()
_known_lock = threading.Lock()
# Shorter strings than this are not replaced wherever they appear (they would blank
# ordinary words); they are still left out of every display form.
MIN_REMEMBERED = 6


def is_secret_param(name: str) -> bool:
    """Whether a query parameter called `name` carries a secret."""
    lowered = name.lower()
    return lowered in SECRET_NAMES or any(word in lowered for word in SECRET_WORDS)


def redact_query(query: str) -> str:
    """`query` (without its `?`) with the value of every secret parameter hidden."""
    parts = []
    for part in query.split("&"):
        name, sep, value = part.partition("=")
        parts.append(f"{name}={HIDDEN}" if sep and value and is_secret_param(name) else part)
    return "&".join(parts)


def remember(*secrets: str) -> None:
    """Secrets `redact` must blank wherever they appear (a URL's password, a token)."""
    with _known_lock:
        _known.update(s for s in secrets if len(s) >= MIN_REMEMBERED)


def redact(text: str) -> str:
    """`text` with URL credentials, secret query values and remembered secrets hidden."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{HIDDEN}@", text)
    text = _PARAM.sub(
        lambda m: (
            f"{m.group(1)}{m.group(2)}={HIDDEN}"
            if m.group(3) and is_secret_param(m.group(2))
            else m.group(0)
        ),
        text,
    )
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, HIDDEN)
    return text


class RedactingFilter(logging.Filter):
    """Log lines without secrets: what a backend or FFmpeg says may quote a URL whole. The
    CLI puts it on its handler, and a batch worker on what prints its warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


def redact_logs() -> None:
    """Put `RedactingFilter` on every handler of this process's root logger, and on the
    last-resort handler that prints warnings where none is set (a batch worker)."""
    for handler in [*logging.getLogger().handlers, logging.lastResort]:
        if handler is not None and not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
