"""Get a failed (or finished) night to the user, so it is not discovered a month later.

Every failure is written to `<log_dir>/failures.log` and to stderr (the journal under systemd);
with `notifications.enabled` it also goes through apprise (`urls`, `webhook_url`, the `email`
block over SMTP) and the configured command; `healthcheck_url` gets a dead-man's-switch ping.
Delivery problems are logged without secrets, never raised: a notifier must not turn one
failure into two.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import smtplib
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import clock
from .files import open_private, owner_only_dir
from .logs import journal_prefix
from .redact import redact, scrub, secrets_of

log = logging.getLogger(__name__)

FAILURE_LOG = "failures.log"
MESSAGE_ENV = "STOCK_REFRESH_MESSAGE"
EVENT_ENV = "STOCK_REFRESH_EVENT"
SMTP_USER_ENV = "STOCK_REFRESH_SMTP_USER"
SMTP_PASSWORD_ENV = "STOCK_REFRESH_SMTP_PASSWORD"
COMMAND_TIMEOUT = 60
PING_TIMEOUT = 5
SMTP_PROBE_TIMEOUT = 10
SHOWN_SYMBOLS = 10
REASON_CHARS = 400
_TAIL_BYTES = 64 * 1024


@dataclass
class Delivery:
    """What happened to one notification: the message, the channels that took it, and one
    line per channel that did not."""

    message: str
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def failure_message(unit: str, log_dir: Path, environ: Mapping[str, str]) -> str:
    """One line naming the unit, host, time and systemd's verdict ($MONITOR_* are set for
    OnFailure= units since systemd 251)."""
    verdict = [
        f"{label} {environ[key]}"
        for key, label in (
            ("MONITOR_SERVICE_RESULT", "result"),
            ("MONITOR_EXIT_CODE", "exit"),
            ("MONITOR_EXIT_STATUS", "status"),
        )
        if environ.get(key)
    ]
    details = f" ({', '.join(verdict)})" if verdict else ""
    return (
        f"{unit} failed on {socket.gethostname()} at {clock.now():%Y-%m-%d %H:%M} UTC{details}; "
        f"see journalctl --user -u {unit} and {log_dir}"
    )


def run_succeeded(summary: Mapping[str, Any]) -> bool:
    """A run summary's verdict: `exit_code` 0, else `success`, else an ok-like `status`."""
    if "exit_code" in summary:
        return summary["exit_code"] == 0
    if "success" in summary:
        return bool(summary["success"])
    return str(summary.get("status", "")).lower() in ("ok", "success", "succeeded", "completed")


def run_message(summary: Mapping[str, Any], succeeded: bool) -> str:
    """One line from a run summary. For this job's own report: the cause first (the abort
    reason), then the counts; the report and the log file hold the rest. For any other summary:
    its scalar fields in their order."""
    verdict = "succeeded" if succeeded else "failed"
    head = f"stock-refresh run {verdict} on {socket.gethostname()}"
    if {"successful", "failed", "skipped", "duration_seconds", "exit_code"} <= summary.keys():
        counts = (
            f"{summary['successful']} ok, {summary['failed']} failed, {summary['skipped']} "
            f"skipped in {summary['duration_seconds']:g} s, exit {summary['exit_code']}"
        )
        reason = summary.get("abort_reason")
        return f"{head}: {reason} ({counts})" if reason else f"{head}: {counts}"
    facts = ", ".join(
        f"{k}={v}"
        for k, v in summary.items()
        if isinstance(v, (str, int, float, bool)) or v is None
    )
    return f"{head}: {facts}" if facts else head


def notify_failure(
    notifications, unit: str, log_dir: Path | str, environ: Mapping[str, str] | None = None
) -> Delivery:
    """Report a failed unit (called from stock-refresh-failure.service via
    `batch_refresh.py --notify-failure UNIT`). When the run already delivered its own failure
    report on every channel (same $MONITOR_INVOCATION_ID), it is only logged, not sent again."""
    environ = os.environ if environ is None else environ
    log_dir = Path(log_dir)
    message = failure_message(unit, log_dir, environ)
    delivery = Delivery(message)
    _record(log_dir, message)
    ping(notifications, "fail", message)
    invocation = environ.get("MONITOR_INVOCATION_ID")
    if invocation and _already_reported(log_dir, invocation):
        _record(log_dir, f"not sent again: the run reported it [invocation {invocation}]")
        return delivery
    title = f"stock-refresh: {unit} failed on {socket.gethostname()}"
    _send(notifications, False, title, message, message, delivery, errors=True)
    _record_errors(log_dir, delivery)
    return delivery


def notify_run_result(
    notifications, summary: Mapping[str, Any], log_dir: Path | str, report_path=None
) -> Delivery:
    """Report a finished run (the runner calls this at the end). Failures are always logged;
    they are sent when `on_failure` is set, successes when `on_success` is set."""
    log_dir = Path(log_dir)
    succeeded = run_succeeded(summary)
    message = run_message(summary, succeeded)
    delivery = Delivery(message)
    if succeeded:
        print(journal_prefix(logging.INFO) + message, file=sys.stderr, flush=True)
    else:
        _record(log_dir, message)
    ping(notifications, "" if succeeded else "fail", message)
    verdict = "succeeded" if succeeded else "failed"
    title = f"stock-refresh {verdict} on {socket.gethostname()}"
    body = run_body(summary, message, report_path)
    errors = not succeeded or bool(summary.get("failed"))
    _send(notifications, succeeded, title, body, message, delivery, errors=errors)
    invocation = os.environ.get("INVOCATION_ID")
    if not succeeded and invocation and delivery.sent and not delivery.errors:
        _record(log_dir, f"sent via {', '.join(delivery.sent)} [invocation {invocation}]")
    _record_errors(log_dir, delivery)
    return delivery


def run_body(summary: Mapping[str, Any], message: str, report_path) -> str:
    """A few short lines for chat and mail: verdict, counts, the first failed symbols, the
    report's path. Bounded (about 1 kB), so it fits Discord's 2,000 characters with the title."""
    if "successful" not in summary or "exit_code" not in summary:
        return message
    reason = summary.get("abort_reason")
    lines = [f"{summary.get('status', 'finished')}" + (f": {reason}" if reason else "")]
    if len(lines[0]) > REASON_CHARS:
        lines[0] = lines[0][: REASON_CHARS - 3] + "..."
    rate = summary.get("success_rate")
    lines.append(
        f"{summary['successful']} ok, {summary['failed']} failed, {summary['skipped']} skipped"
        + (f", success rate {rate:g} %" if rate is not None else "")
        + f", {summary['duration_seconds']:g} s, exit {summary['exit_code']}"
    )
    failed = list(summary.get("failed_symbols") or [])
    if failed:
        more = len(failed) - SHOWN_SYMBOLS
        shown = ", ".join(failed[:SHOWN_SYMBOLS]) + (f" and {more} more" if more > 0 else "")
        lines.append(f"failed: {shown}")
    if report_path:
        lines.append(f"report: {report_path}")
    return "\n".join(lines)


def _send(
    notifications, succeeded: bool, title, body, message, delivery: Delivery, *, errors: bool
) -> None:
    """Every channel that wants this outcome. The e-mail block keeps its own switch
    (`on_error_only`: a failed run or any failed stock); the others follow `on_failure` /
    `on_success`."""
    if not notifications.enabled:
        return
    targets: list[str] = []
    if notifications.on_success if succeeded else notifications.on_failure:
        if notifications.command:
            _try(delivery, "command", _run_command, notifications.command, succeeded, message)
        targets += list(notifications.urls)
        if notifications.webhook_url:
            targets.append(webhook_target(notifications.webhook_url))
    email = notifications.email
    if email.enabled and (errors or not email.on_error_only):
        try:
            targets.append(email_url(email, os.environ))
        except OSError as e:
            delivery.errors.append(f"notification via e-mail failed: {email.smtp_server}: {e}")
    for url in targets:
        _try(delivery, redact(url), _apprise_send, url, succeeded, title, body)


def _try(delivery: Delivery, name: str, send, *args) -> None:
    try:
        send(*args)
    except Exception as e:  # any channel failure is reported, never raised
        delivery.errors.append(f"notification via {name} failed: {e}")
    else:
        delivery.sent.append(name)


def webhook_target(url: str) -> str:
    """A Slack or Discord webhook URL as apprise knows it; any other URL as a JSON POST."""
    import apprise

    with _apprise_lines():  # "Unparseable URL <the whole URL>" is expected here, and secret
        known = apprise.Apprise.instantiate(url) is not None
    if known:
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="jsons" if parts.scheme == "https" else "json"))


def email_url(email, environ: Mapping[str, str]) -> str:
    """The `notifications.email` block as an apprise mailto(s) URL. Port 465 is TLS from the
    first byte; any other port uses STARTTLS when the server offers it, plain SMTP otherwise.
    The login comes from $STOCK_REFRESH_SMTP_USER and $STOCK_REFRESH_SMTP_PASSWORD."""
    port = email.smtp_port
    mode = "ssl" if port == 465 else "starttls" if _offers_starttls(email) else "insecure"
    query = {
        "smtp": email.smtp_server,
        "from": email.from_address,
        "to": ",".join(email.to_addresses),
        "mode": mode,
    }
    if environ.get(SMTP_USER_ENV):
        query.update(user=environ[SMTP_USER_ENV], **{"pass": environ.get(SMTP_PASSWORD_ENV, "")})
    domain = email.from_address.rsplit("@", 1)[1]
    scheme = "mailto" if mode == "insecure" else "mailtos"
    return f"{scheme}://{domain}:{port}/?{urlencode(query)}"


def _offers_starttls(email) -> bool:
    with smtplib.SMTP(email.smtp_server, email.smtp_port, timeout=SMTP_PROBE_TIMEOUT) as smtp:
        smtp.ehlo()
        return smtp.has_extn("starttls")


class _Captured(logging.Handler):
    """Apprise's own warnings, kept to be shown once, without secrets."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextlib.contextmanager
def _apprise_lines():
    """Apprise's log lines meanwhile, kept from every handler: they may hold whole URLs."""
    apprise_log = logging.getLogger("apprise")
    captured = _Captured()
    propagate, apprise_log.propagate = apprise_log.propagate, False
    apprise_log.addHandler(captured)
    try:
        yield captured.lines
    finally:
        apprise_log.removeHandler(captured)
        apprise_log.propagate = propagate


def _apprise_send(url: str, succeeded: bool, title: str, body: str) -> None:
    import apprise

    with _apprise_lines() as lines:
        service = apprise.Apprise.instantiate(url)
        ok = service is not None and service.notify(
            body=body,
            title=title,
            notify_type=apprise.NotifyType.SUCCESS if succeeded else apprise.NotifyType.FAILURE,
            body_format=apprise.NotifyFormat.TEXT,
            overflow=apprise.OverflowMode.TRUNCATE,
        )
    if not ok:
        why = "; ".join(lines) or "not delivered"
        raise RuntimeError(scrub(why, secrets_of([url])))


def ping(notifications, suffix: str, body: str = "") -> None:
    """Ping `healthcheck_url` (+ `/start`, `/fail`); a short timeout, failures only logged."""
    url = notifications.healthcheck_url
    if not url:
        return
    parts = urlsplit(url)
    if suffix:
        parts = parts._replace(path=parts.path.rstrip("/") + "/" + suffix)
    target = urlunsplit(parts)
    data = body.encode()[:10_000] if body else None
    request = urllib.request.Request(target, data=data, headers={"User-Agent": "stock-refresh"})
    try:
        with urllib.request.urlopen(request, timeout=PING_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as e:
        log.warning("healthcheck ping %s failed: HTTP %d", redact(target), e.code)
    except (urllib.error.URLError, OSError) as e:
        reason = scrub(str(getattr(e, "reason", e)), secrets_of([url]))
        log.warning("healthcheck ping %s failed: %s", redact(target), reason)


def _run_command(command: str, succeeded: bool, message: str) -> None:
    """Run without a shell; the message is the last argument and $STOCK_REFRESH_MESSAGE."""
    argv = shlex.split(command)
    if not argv:
        raise RuntimeError("the command is empty")
    argv.append(message)
    event = "success" if succeeded else "failure"
    env = dict(os.environ, **{MESSAGE_ENV: message, EVENT_ENV: event})
    try:
        done = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
    except FileNotFoundError:
        raise RuntimeError(f"{argv[0]}: command not found") from None
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{argv[0]} did not finish within {COMMAND_TIMEOUT} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [""])[-1]
        raise RuntimeError(f"{argv[0]} exited {done.returncode}" + (f": {last}" if last else ""))


def _record(log_dir: Path, line: str, echo: bool = True) -> None:
    """Append to failures.log and print to stderr; a log folder that cannot be written is
    itself only logged."""
    if echo:
        print(journal_prefix(logging.ERROR) + line, file=sys.stderr, flush=True)
    try:
        owner_only_dir(log_dir)
        fd = open_private(log_dir / FAILURE_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(f"{clock.now().isoformat()} {line}\n")
    except OSError as e:
        log.warning("cannot write %s: %s", log_dir / FAILURE_LOG, e)


def _record_errors(log_dir: Path, delivery: Delivery) -> None:
    for error in delivery.errors:
        log.warning("%s", error)
        _record(log_dir, error, echo=False)


def _already_reported(log_dir: Path, invocation: str) -> bool:
    try:
        with open(log_dir / FAILURE_LOG, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError:
        return False
    mark = f"[invocation {invocation}]"
    return any(" sent via " in line and line.endswith(mark) for line in tail.splitlines())
