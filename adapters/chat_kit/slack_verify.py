"""A Slack request checked on its raw, capped bytes before anything parses it: the timestamp
(digits, within five minutes), the v0 signature over the exact bytes, then a body that bolt
can parse without raising (UTF-8, JSON guarded against depth and long numbers)."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from adapters.chat_kit.json_input import BadJson, parse_json_object

# Slack's own tolerance for the request timestamp.
MAX_AGE_SECONDS = 300
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Form fields in one request: slash commands send about 15.
MAX_FORM_FIELDS = 100


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: the HTTP status and a short reason for the log line."""

    status: int
    reason: str


def check_slack_request(
    body: bytes,
    headers: Mapping[str, str],
    signing_secret: str,
    *,
    now: float | None = None,
) -> Refusal | None:
    """None when the request is signed by Slack, fresh, and parseable; else the Refusal (401
    for a missing, stale or wrong signature, 400 for a signed body that cannot be parsed)."""
    timestamp = headers.get("x-slack-request-timestamp", "").strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        return Refusal(401, "no usable X-Slack-Request-Timestamp")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_AGE_SECONDS:
        return Refusal(401, "the request timestamp is stale")
    signature = headers.get("x-slack-signature", "").strip()
    if not _SIGNATURE.fullmatch(signature):
        return Refusal(401, "no usable X-Slack-Signature")
    signed = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(signing_secret.encode(), signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return Refusal(401, "the signature does not match")
    problem = _body_problem(body, headers.get("content-type", ""))
    return None if problem is None else Refusal(400, problem)


def _body_problem(body: bytes, content_type: str) -> str | None:
    """What would make bolt's parser raise on this body, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    try:
        # As bolt's parse_body: JSON when the type says so or the body starts with "{"; else
        # a form, whose `payload` field (interactivity) is JSON.
        if content_type == "application/json" or text.startswith("{"):
            parse_json_object(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
            if "payload" in payload:
                parse_json_object(payload["payload"])
    except BadJson as error:
        return str(error)
    except ValueError:
        return "the form has too many fields"
    return None
