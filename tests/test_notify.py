"""Notifications through real channels: a recording command, a webhook server on 127.0.0.1,
a recording sendmail; and the CLI's --notify-failure as systemd's OnFailure= unit runs it."""

import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from stock_refresh import notify
from stock_refresh.notify import notify_failure, notify_run_result
from tests.paths import ROOT
from tests.pinned import pinned

RECORDER = """#!/bin/sh
[ -z "$RECORDER_EXIT" ] || { echo "notifier broke" >&2; exit "$RECORDER_EXIT"; }
out="$(dirname "$0")/calls"
printf 'argv:' >> "$out"; for a in "$@"; do printf ' [%s]' "$a" >> "$out"; done
printf '\\nenv: %s %s\\n' "$STOCK_REFRESH_EVENT" "$STOCK_REFRESH_MESSAGE" >> "$out"
cat >> "$out"
"""


def settings(**overrides):
    values = dict(
        enabled=True,
        on_failure=True,
        on_success=False,
        command=None,
        webhook_url=None,
        email_to=None,
    )
    values.update(overrides)
    return SimpleNamespace(**values)


def recorder(folder: Path, name: str = "record") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(RECORDER)
    path.chmod(0o755)
    return path


class Hook:
    """A webhook receiver on 127.0.0.1 that keeps each JSON body and answers `status`."""

    def __init__(self, status: int = 204):
        self.bodies = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                hook.bodies.append(
                    (self.headers["Content-Type"], json.loads(self.rfile.read(length)))
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in (
        "MONITOR_SERVICE_RESULT",
        "MONITOR_EXIT_CODE",
        "MONITOR_EXIT_STATUS",
        "MONITOR_INVOCATION_ID",
        "INVOCATION_ID",
        "STOCK_REFRESH_SENDMAIL",
        "http_proxy",
        "HTTP_PROXY",
    ):
        monkeypatch.delenv(key, raising=False)


def failures(log_dir: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in (log_dir / "failures.log").read_text().splitlines()]


def test_disabled_still_logs_and_prints(tmp_path, capsys):
    log_dir = tmp_path / "logs"
    result = notify_failure(
        settings(enabled=False),
        "stock-refresh.service",
        log_dir,
        environ={
            "MONITOR_SERVICE_RESULT": "timeout",
            "MONITOR_EXIT_CODE": "killed",
            "MONITOR_EXIT_STATUS": "TERM",
        },
    )
    assert result.sent == [] and result.errors == []
    assert result.message.startswith("stock-refresh.service failed on ")
    assert "(result timeout, exit killed, status TERM)" in result.message
    assert f"see journalctl --user -u stock-refresh.service and {log_dir}" in result.message
    assert failures(log_dir) == [result.message]
    assert (log_dir.stat().st_mode & 0o777) == 0o700
    assert result.message in capsys.readouterr().err


def test_all_channels(tmp_path, hook, monkeypatch):
    bin_dir = tmp_path / "bin"
    command = recorder(bin_dir)
    monkeypatch.setenv("STOCK_REFRESH_SENDMAIL", str(recorder(bin_dir, "sendmail")))
    result = notify_failure(
        settings(
            command=f"{command} --tag 'night run'",
            webhook_url=hook.url,
            email_to="jane@example.org",
        ),
        "stock-refresh.service",
        tmp_path / "logs",
        environ={},
    )
    assert result.sent == ["command", "webhook", "email"] and result.errors == []
    calls = (bin_dir / "calls").read_text()
    assert f"argv: [--tag] [night run] [{result.message}]\nenv: failure {result.message}\n" in calls
    assert "argv: [-t] [-oi]" in calls
    assert "To: jane@example.org" in calls and "Subject: [stock-refresh] failure on " in calls
    content_type, body = hook.bodies[0]
    assert content_type == "application/json"
    assert body["text"] == body["content"] == result.message
    assert body["event"] == "failure" and body["unit"] == "stock-refresh.service"


def test_failed_channels_are_logged_never_raised(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    command = recorder(bin_dir)
    monkeypatch.setenv("RECORDER_EXIT", "3")
    monkeypatch.setattr(notify, "SENDMAIL_PATHS", ())
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    bad_hook = Hook(status=500)
    try:
        result = notify_failure(
            settings(command=str(command), webhook_url=bad_hook.url, email_to="j@example.org"),
            "stock-refresh.service",
            tmp_path / "logs",
            environ={},
        )
    finally:
        bad_hook.close()
    assert result.sent == []
    assert result.errors == [
        f"notification via command failed: {command} exited 3: notifier broke",
        f"notification via webhook failed: {bad_hook.url} answered HTTP 500",
        "notification via email failed: no sendmail found (install a local mail transfer "
        "agent such as msmtp-mta or postfix), message not delivered",
    ]
    assert failures(tmp_path / "logs") == [result.message, *result.errors]


def test_unreachable_webhook_and_missing_command(tmp_path, hook):
    url = hook.url
    hook.close()
    result = notify_failure(
        settings(command="/nonexistent/notifier", webhook_url=url),
        "stock-refresh.service",
        tmp_path / "logs",
        environ={},
    )
    assert result.sent == []
    assert result.errors[0] == (
        "notification via command failed: /nonexistent/notifier: command not found"
    )
    assert result.errors[1].startswith(f"notification via webhook failed: {url}: ")


def test_on_failure_off_sends_nothing(tmp_path, hook):
    result = notify_failure(
        settings(on_failure=False, webhook_url=hook.url),
        "stock-refresh.service",
        tmp_path / "logs",
        environ={},
    )
    assert result.sent == [] and hook.bodies == []
    assert failures(tmp_path / "logs") == [result.message]


def test_unwritable_log_dir_does_not_raise(tmp_path, hook):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = notify_failure(
        settings(webhook_url=hook.url), "stock-refresh.service", blocker / "logs", environ={}
    )
    assert result.sent == ["webhook"]


def test_run_result_success_is_gated_by_on_success(tmp_path, hook):
    summary = {
        "status": "ok",
        "exit_code": 0,
        "succeeded": 7012,
        "failed": 3,
        "report": "/srv/reports/batch_summary_1.json",
        "counts": {"market": 7012},
    }
    quiet = notify_run_result(settings(webhook_url=hook.url), summary, tmp_path / "logs")
    assert quiet.sent == [] and hook.bodies == []
    assert not (tmp_path / "logs" / "failures.log").exists()
    loud = notify_run_result(
        settings(webhook_url=hook.url, on_success=True), summary, tmp_path / "logs"
    )
    assert loud.sent == ["webhook"]
    assert loud.message.startswith("stock-refresh run succeeded on ")
    assert loud.message.endswith(
        ": status=ok, exit_code=0, succeeded=7012, failed=3, "
        "report=/srv/reports/batch_summary_1.json"
    )
    body = hook.bodies[0][1]
    assert body["event"] == "success" and body["summary"]["counts"] == {"market": 7012}


def test_run_failure_is_logged_and_not_sent_twice_by_the_failure_unit(tmp_path, hook, monkeypatch):
    log_dir = tmp_path / "logs"
    monkeypatch.setenv("INVOCATION_ID", "abc123")
    result = notify_run_result(
        settings(webhook_url=hook.url), {"status": "aborted", "exit_code": 1}, log_dir
    )
    assert result.sent == ["webhook"]
    assert result.message.startswith("stock-refresh run failed on ")
    monkeypatch.delenv("INVOCATION_ID")
    later = notify_failure(
        settings(webhook_url=hook.url),
        "stock-refresh.service",
        log_dir,
        environ={"MONITOR_INVOCATION_ID": "abc123"},
    )
    assert later.sent == [] and len(hook.bodies) == 1
    assert failures(log_dir)[-1] == "not sent again: the run reported it [invocation abc123]"
    other = notify_failure(
        settings(webhook_url=hook.url),
        "stock-refresh.service",
        log_dir,
        environ={"MONITOR_INVOCATION_ID": "def456"},
    )
    assert other.sent == ["webhook"] and len(hook.bodies) == 2


@pytest.mark.parametrize(
    "summary, expected",
    [
        ({"exit_code": 0}, True),
        ({"exit_code": 1, "status": "ok"}, False),
        ({"success": True}, True),
        ({"status": "completed"}, True),
        ({"status": "aborted"}, False),
        ({}, False),
    ],
)
def test_run_succeeded(summary, expected):
    assert notify.run_succeeded(summary) is expected


def test_cli_notify_failure_as_the_failure_unit_runs_it(tmp_path):
    """What stock-refresh-failure.service runs, with systemd's MONITOR_* variables."""
    command = recorder(tmp_path / "bin")
    config = tmp_path / "batch_config.json"
    config.write_text(
        json.dumps(
            {
                "sources": {"sec_contact": "Jane Doe jane.doe@gmail.com"},
                "notifications": {"enabled": True, "command": str(command)},
            }
        )
    )
    env = pinned({k: v for k, v in os.environ.items() if not k.startswith("STOCK_REFRESH_")})
    env.update(
        MONITOR_SERVICE_RESULT="exit-code", MONITOR_EXIT_CODE="exited", MONITOR_EXIT_STATUS="1"
    )
    result = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "python"),
            str(ROOT / "batch_refresh.py"),
            "--config",
            str(config),
            "--notify-failure",
            "stock-refresh.service",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    [line] = failures(tmp_path / "logs")
    assert "stock-refresh.service failed on " in line
    assert "(result exit-code, exit exited, status 1)" in line
    assert line in result.stderr
    assert f"env: failure {line}" in (tmp_path / "bin" / "calls").read_text()


@pytest.mark.parametrize(
    "command, error",
    [("notify 'unbalanced", "No closing quotation"), ("   ", "the command is empty")],
)
def test_unusable_command_is_an_error_not_a_crash(tmp_path, command, error):
    result = notify_failure(
        settings(command=command), "stock-refresh.service", tmp_path / "logs", environ={}
    )
    assert result.sent == [] and error in result.errors[0]


def test_a_run_report_becomes_one_line_with_the_cause_first(tmp_path, capsys):
    report = {
        "run_id": 7,
        "start_time": "2026-12-02T02:00:00+00:00",
        "duration_seconds": 1.5,
        "status": "aborted",
        "exit_code": 1,
        "abort_reason": "no symbol list: connection refused by 127.0.0.1:9 (https://x/y.json)",
        "total_stocks": 0,
        "successful": 0,
        "failed": 0,
        "skipped": 0,
        "upstreams": {"github": {"requests": 4}},
    }
    result = notify_run_result(settings(enabled=False), report, tmp_path / "logs")
    assert result.message == (
        f"stock-refresh run failed on {socket.gethostname()}: no symbol list: connection refused "
        "by 127.0.0.1:9 (https://x/y.json) (0 ok, 0 failed, 0 skipped in 1.5 s, exit 1)"
    )
    assert capsys.readouterr().err == result.message + "\n"
    assert failures(tmp_path / "logs") == [result.message]

    done = {**report, "status": "completed", "exit_code": 0, "abort_reason": None}
    done.update(successful=25, failed=2, total_stocks=27, duration_seconds=14.25)
    assert notify_run_result(settings(enabled=False), done, tmp_path / "logs").message.endswith(
        ": 25 ok, 2 failed, 0 skipped in 14.25 s, exit 0"
    )
