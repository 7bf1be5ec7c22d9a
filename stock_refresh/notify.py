"""Get a failed (or finished) night to the user, so it is not discovered a month later.

Every failure is written to `<log_dir>/failures.log` and to stderr (the journal under systemd);
with `notifications.enabled` it also goes to the configured command, webhook and e-mail address.
Delivery problems are logged, never raised: a notifier must not turn one failure into two.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from . import clock
from .files import owner_only_dir

log = logging.getLogger(__name__)

FAILURE_LOG = "failures.log"
MESSAGE_ENV = "STOCK_REFRESH_MESSAGE"
EVENT_ENV = "STOCK_REFRESH_EVENT"
SENDMAIL_ENV = "STOCK_REFRESH_SENDMAIL"
SENDMAIL_PATHS = ("/usr/sbin/sendmail", "/usr/lib/sendmail")
WEBHOOK_TIMEOUT = 10
COMMAND_TIMEOUT = 60
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
    invocation = environ.get("MONITOR_INVOCATION_ID")
    if invocation and _already_reported(log_dir, invocation):
        _record(log_dir, f"not sent again: the run reported it [invocation {invocation}]")
        return delivery
    if notifications.enabled and notifications.on_failure:
        payload = {
            "event": "failure",
            "unit": unit,
            "host": socket.gethostname(),
            "time": clock.now().isoformat(),
        }
        _send(notifications, "failure", message, payload, delivery)
    _record_errors(log_dir, delivery)
    return delivery


def notify_run_result(notifications, summary: Mapping[str, Any], log_dir: Path | str) -> Delivery:
    """Report a finished run (the runner calls this at the end). Failures are always logged;
    they are sent when `on_failure` is set, successes when `on_success` is set."""
    log_dir = Path(log_dir)
    succeeded = run_succeeded(summary)
    message = run_message(summary, succeeded)
    delivery = Delivery(message)
    if succeeded:
        print(message, file=sys.stderr, flush=True)
    else:
        _record(log_dir, message)
    wanted = notifications.on_success if succeeded else notifications.on_failure
    if notifications.enabled and wanted:
        payload = {
            "event": "success" if succeeded else "failure",
            "host": socket.gethostname(),
            "time": clock.now().isoformat(),
            "summary": dict(summary),
        }
        _send(notifications, payload["event"], message, payload, delivery)
        invocation = os.environ.get("INVOCATION_ID")
        if not succeeded and invocation and delivery.sent and not delivery.errors:
            _record(log_dir, f"sent via {', '.join(delivery.sent)} [invocation {invocation}]")
    _record_errors(log_dir, delivery)
    return delivery


def _send(notifications, event: str, message: str, payload: dict, delivery: Delivery) -> None:
    channels = (
        ("command", notifications.command, _run_command),
        ("webhook", notifications.webhook_url, _post_webhook),
        ("email", notifications.email_to, _send_email),
    )
    for name, target, send in channels:
        if not target:
            continue
        try:
            send(target, event, message, payload)
        except Exception as e:  # any channel failure is reported, never raised
            delivery.errors.append(f"notification via {name} failed: {e}")
        else:
            delivery.sent.append(name)


def _run_command(command: str, event: str, message: str, payload: dict) -> None:
    """Run without a shell; the message is the last argument and $STOCK_REFRESH_MESSAGE."""
    argv = shlex.split(command)
    if not argv:
        raise RuntimeError("the command is empty")
    argv.append(message)
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


def _post_webhook(url: str, event: str, message: str, payload: dict) -> None:
    """POST JSON; `text` suits Slack/Mattermost-style hooks and `content` Discord's."""
    if not url.lower().startswith(("http://", "https://")):
        raise RuntimeError(f"not an http(s) URL: {url}")
    body = json.dumps({"text": message, "content": message, **payload}, default=str).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "stock-refresh"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read()
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{url} answered HTTP {e.code}") from None
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"{url}: {getattr(e, 'reason', e)}") from None


def find_sendmail() -> str | None:
    """$STOCK_REFRESH_SENDMAIL, else the usual sendmail locations, else sendmail on PATH."""
    if os.environ.get(SENDMAIL_ENV):
        return os.environ[SENDMAIL_ENV]
    for path in SENDMAIL_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("sendmail")


def _send_email(to: str | list[str], event: str, message: str, payload: dict) -> None:
    """Hand the mail to the local MTA (`sendmail -t`); no SMTP credentials in the config."""
    sendmail = find_sendmail()
    if sendmail is None:
        raise RuntimeError(
            "no sendmail found (install a local mail transfer agent such as "
            "msmtp-mta or postfix), message not delivered"
        )
    mail = EmailMessage()
    mail["To"] = to if isinstance(to, str) else ", ".join(to)
    mail["Subject"] = f"[stock-refresh] {event} on {socket.gethostname()}"
    mail.set_content(message + "\n")
    try:
        done = subprocess.run(
            [sendmail, "-t", "-oi"],
            input=mail.as_bytes(),
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RuntimeError(f"{sendmail}: {e}") from None
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        raise RuntimeError(f"{sendmail} exited {done.returncode}" + (f": {last}" if last else ""))


def _record(log_dir: Path, line: str, echo: bool = True) -> None:
    """Append to failures.log and print to stderr; a log folder that cannot be written is
    itself only logged."""
    if echo:
        print(line, file=sys.stderr, flush=True)
    try:
        owner_only_dir(log_dir)
        with open(log_dir / FAILURE_LOG, "a", encoding="utf-8") as f:
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
