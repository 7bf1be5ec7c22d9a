"""Notifications through real channels on 127.0.0.1: a recording command, apprise's json://,
Slack- and Discord-shaped posts, an SMTP server (aiosmtpd) and a healthchecks-style listener;
the CLI as systemd runs it (JOURNAL_STREAM, --notify-failure)."""

import json
import os
import socket
import subprocess
import threading
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from apprise.plugins.discord import NotifyDiscord
from apprise.plugins.slack import NotifySlack

from stock_refresh import notify
from stock_refresh.notify import notify_failure, notify_run_result
from stock_refresh.redact import redact
from tests.conftest import cli_env, only_report, run_cli, write_config
from tests.paths import ROOT
from tests.pinned import pinned
from tests.upstream import FakeUpstream

RECORDER = """#!/bin/sh
[ -z "$RECORDER_EXIT" ] || { echo "notifier broke" >&2; exit "$RECORDER_EXIT"; }
out="$(dirname "$0")/calls"
printf 'argv:' >> "$out"; for a in "$@"; do printf ' [%s]' "$a" >> "$out"; done
printf '\\nenv: %s %s\\n' "$STOCK_REFRESH_EVENT" "$STOCK_REFRESH_MESSAGE" >> "$out"
cat >> "$out"
"""

NO_EMAIL = SimpleNamespace(enabled=False)


def settings(**overrides):
    values = dict(
        enabled=True,
        on_failure=True,
        on_success=False,
        urls=(),
        command=None,
        webhook_url=None,
        healthcheck_url=None,
        email=NO_EMAIL,
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
    """An HTTP listener on 127.0.0.1 that keeps (method, path, body) and answers `status`."""

    def __init__(self, status: int = 200):
        self.requests = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                hook.requests.append((self.command, self.path, body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")  # what Slack answers

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def posts(self) -> list[dict]:
        return [json.loads(body) for method, _, body in self.requests if method == "POST"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


class Mailbox:
    """An SMTP server on 127.0.0.1 (no TLS, no AUTH) that keeps each envelope."""

    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port
    yield mailbox
    controller.stop()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in (
        "MONITOR_SERVICE_RESULT",
        "MONITOR_EXIT_CODE",
        "MONITOR_EXIT_STATUS",
        "MONITOR_INVOCATION_ID",
        "INVOCATION_ID",
        "JOURNAL_STREAM",
        "STOCK_REFRESH_SMTP_USER",
        "STOCK_REFRESH_SMTP_PASSWORD",
        "http_proxy",
        "HTTP_PROXY",
    ):
        monkeypatch.delenv(key, raising=False)


def failures(log_dir: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in (log_dir / "failures.log").read_text().splitlines()]


REPORT = {
    "run_id": 7,
    "duration_seconds": 14.25,
    "status": "completed",
    "exit_code": 1,
    "abort_reason": None,
    "total_stocks": 60,
    "successful": 25,
    "failed": 30,
    "skipped": 5,
    "success_rate": 45.45,
    "failed_symbols": [f"S{i:03d}" for i in range(30)],
}


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


def test_command_and_json_url(tmp_path, hook):
    command = recorder(tmp_path / "bin")
    result = notify_failure(
        settings(command=f"{command} --tag 'night run'", urls=(f"json://{hook.base}/hook",)),
        "stock-refresh.service",
        tmp_path / "logs",
        environ={},
    )
    assert result.sent == ["command", f"json://{hook.base}/..."] and result.errors == []
    calls = (tmp_path / "bin" / "calls").read_text()
    assert f"argv: [--tag] [night run] [{result.message}]\nenv: failure {result.message}\n" in calls
    [body] = hook.posts()
    assert body["type"] == "failure" and body["message"] == result.message
    assert body["title"].startswith("stock-refresh: stock-refresh.service failed on ")


def test_slack_and_discord_get_their_own_shapes_within_their_limits(hook, monkeypatch, tmp_path):
    """apprise's own Slack and Discord notifiers, their endpoints moved to the listener."""
    monkeypatch.setattr(NotifyDiscord, "notify_url", f"http://{hook.base}/api/webhooks")
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://{hook.base}/services")
    long = {**REPORT, "status": "aborted", "abort_reason": "x" * 5000}
    result = notify_run_result(
        settings(urls=("discord://1234/DISCORDTOKEN", "slack://TA/BB/SLACKTOKEN")),
        long,
        tmp_path / "logs",
        "/srv/reports/batch_summary_20261202_070000.json",
    )
    assert result.sent == ["discord://...", "slack://..."], result.errors
    paths = [path for _, path, _ in hook.requests]
    assert paths[0].startswith("/api/webhooks/1234/DISCORDTOKEN")
    assert paths[1] == "/services/TA/BB/SLACKTOKEN"
    discord, slack = hook.posts()
    assert len(discord["content"]) <= 2000
    assert discord["content"].startswith(f"stock-refresh failed on {socket.gethostname()}")
    assert "25 ok, 30 failed, 5 skipped, success rate 45.45 %" in discord["content"]
    assert (
        "failed: S000, S001, S002, S003, S004, S005, S006, S007, S008, S009 and 20 more"
        in (discord["content"])
    )
    assert "report: /srv/reports/batch_summary_20261202_070000.json" in discord["content"]
    [attachment] = slack["attachments"]
    assert attachment["title"] == f"stock-refresh failed on {socket.gethostname()}"
    assert "failed: S000" in attachment["text"] and attachment["color"]


def test_failed_channels_are_logged_without_secrets_never_raised(tmp_path, monkeypatch):
    command = recorder(tmp_path / "bin")
    monkeypatch.setenv("RECORDER_EXIT", "3")
    bad = Hook(status=500)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    urls = (f"json://user:S3CRETPW@{bad.base}/TOKEN123", f"json://127.0.0.1:{closed}/TOKEN456")
    try:
        result = notify_failure(
            settings(command=str(command), urls=urls),
            "stock-refresh.service",
            tmp_path / "logs",
            {},
        )
    finally:
        bad.close()
    assert result.sent == []
    assert (
        result.errors[0] == f"notification via command failed: {command} exited 3: notifier broke"
    )
    assert result.errors[1].startswith(f"notification via json://{bad.base}/... failed: ")
    assert "500" in result.errors[1]
    assert result.errors[2].startswith(f"notification via json://127.0.0.1:{closed}/... failed")
    written = (tmp_path / "logs" / "failures.log").read_text()
    for secret in ("S3CRETPW", "TOKEN123", "TOKEN456", "user:"):
        assert secret not in written and secret not in " ".join(result.errors)


def test_on_failure_off_sends_nothing(tmp_path, hook):
    result = notify_failure(
        settings(on_failure=False, urls=(f"json://{hook.base}/",)),
        "stock-refresh.service",
        tmp_path / "logs",
        environ={},
    )
    assert result.sent == [] and hook.requests == []
    assert failures(tmp_path / "logs") == [result.message]


def test_success_is_gated_by_on_success_and_pings_the_healthcheck(tmp_path, hook):
    done = {**REPORT, "exit_code": 0, "failed": 0, "failed_symbols": [], "success_rate": 100.0}
    common = dict(urls=(f"json://{hook.base}/chat",), healthcheck_url=f"http://{hook.base}/hc/u1")
    quiet = notify_run_result(settings(**common), done, tmp_path / "logs")
    assert quiet.sent == [] and hook.requests == [("POST", "/hc/u1", quiet.message)]
    assert not (tmp_path / "logs" / "failures.log").exists()
    loud = notify_run_result(settings(**common, on_success=True), done, tmp_path / "logs")
    assert loud.sent == [f"json://{hook.base}/..."]
    assert json.loads(hook.requests[-1][2])["type"] == "success"


def test_a_dead_healthcheck_is_logged_and_never_raised(tmp_path, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    url = f"http://127.0.0.1:{closed}/ping/SECRETUUID"
    notify.ping(settings(healthcheck_url=url), "start")
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"healthcheck ping http://127.0.0.1:{closed}/... failed: ")
    assert "SECRETUUID" not in line


def test_run_failure_is_not_sent_twice_by_the_failure_unit(tmp_path, hook, monkeypatch):
    log_dir = tmp_path / "logs"
    channel = settings(urls=(f"json://{hook.base}/",))
    monkeypatch.setenv("INVOCATION_ID", "abc123")
    result = notify_run_result(channel, {"status": "aborted", "exit_code": 1}, log_dir)
    assert result.sent == [f"json://{hook.base}"]
    monkeypatch.delenv("INVOCATION_ID")
    later = notify_failure(
        channel, "stock-refresh.service", log_dir, {"MONITOR_INVOCATION_ID": "abc123"}
    )
    assert later.sent == [] and len(hook.requests) == 1
    assert failures(log_dir)[-1] == "not sent again: the run reported it [invocation abc123]"
    other = notify_failure(
        channel, "stock-refresh.service", log_dir, {"MONITOR_INVOCATION_ID": "d4"}
    )
    assert other.sent == [f"json://{hook.base}"] and len(hook.requests) == 2


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


@pytest.mark.parametrize(
    "url, shown",
    [
        ("mailtos://jane:pw@gmail.com:465/?to=a@b.org", "mailtos://gmail.com:465/..."),
        ("https://hc-ping.com/0f1e2d", "https://hc-ping.com/..."),
        ("ntfy://my-private-topic", "ntfy://..."),
        ("slack://TA1SECRET/BB2SECRET/CC3SECRET", "slack://..."),
        ("discord://1234567/WEBHOOKTOKEN", "discord://..."),
        ("json://user:pw@hooks.lan:8080/x", "json://hooks.lan:8080/..."),
        ("http://127.0.0.1:9/", "http://127.0.0.1:9"),
        ("xoxb-1234-secret-token", "(text that is not a URL)"),
        ("${NOPE}", "(text that is not a URL)"),
    ],
)
def test_redact(url, shown):
    assert redact(url) == shown


def test_cli_notify_failure_as_the_failure_unit_runs_it(tmp_path, hook):
    """What stock-refresh-failure.service runs, with systemd's MONITOR_* variables."""
    command = recorder(tmp_path / "bin")
    config = tmp_path / "batch_config.json"
    config.write_text(
        json.dumps(
            {
                "sources": {"sec_contact": "Jane Doe jane.doe@gmail.com"},
                "notifications": {
                    "enabled": True,
                    "command": str(command),
                    "healthcheck_url": f"http://{hook.base}/${{HC_UUID}}",
                },
            }
        )
    )
    env = pinned({k: v for k, v in os.environ.items() if not k.startswith("STOCK_REFRESH_")})
    env.update(
        MONITOR_SERVICE_RESULT="exit-code",
        MONITOR_EXIT_CODE="exited",
        MONITOR_EXIT_STATUS="1",
        JOURNAL_STREAM="8:1234",
        HC_UUID="uuid-1",
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
    assert "(result exit-code, exit exited, status 1)" in line
    assert f"<3>{line}" in result.stderr.splitlines()
    assert f"env: failure {line}" in (tmp_path / "bin" / "calls").read_text()
    assert hook.requests == [("POST", "/uuid-1/fail", line)]


def test_a_night_with_a_failed_stock_under_systemd(tmp_path, smtp, hook):
    """The original's e-mail block (SMTP on loopback), the healthcheck pings, the journal's
    priorities and the log file's ERROR line, from one real run of the CLI."""
    with FakeUpstream(
        companies=3, faults="data.sec.gov/api/xbrl/companyfacts/CIK0000320193.json=status:500"
    ) as broken:
        config = write_config(
            tmp_path,
            broken.url,
            error_handling={"max_retries_per_stock": 0, "retry_failed_stocks": False},
            notifications={
                "enabled": True,
                "healthcheck_url": f"http://{hook.base}/ping/uuid-2",
                "email": {
                    "enabled": True,
                    "smtp_server": "127.0.0.1",
                    "smtp_port": smtp.port,
                    "from_address": "jane.doe@gmail.com",
                    "to_addresses": ["ops@acme-research.com", "jane.doe@gmail.com"],
                    "on_error_only": True,
                },
            },
        )
        env = dict(cli_env(), JOURNAL_STREAM="8:1234", INVOCATION_ID="f00")
        result = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                str(ROOT / "batch_refresh.py"),
                "--config",
                str(config),
                "--limit",
                "2",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=ROOT,
        )
    report = only_report(tmp_path)
    assert report["failed"] >= 1, result.stderr[-3000:]
    failed = report["failed_symbols"][0]
    errors = [line for line in result.stderr.splitlines() if line.startswith("<3>")]
    assert any(line.startswith(f"<3>ERROR {failed} failed: ") for line in errors), errors
    assert any(
        line.startswith("<6>INFO progress ") and "stocks/s" in line
        for line in (result.stderr.splitlines())
    )
    log = (tmp_path / "logs" / "batch_refresh.log").read_text()
    assert f" ERROR stock_refresh: {failed} failed: " in log
    assert [(m, p) for m, p, _ in hook.requests] == [
        ("GET", "/ping/uuid-2/start"),
        ("POST", "/ping/uuid-2/fail"),
    ]  # one stock of two failed on an upstream fault: exit 3, a failure for the healthcheck
    # apprise sends one mail per recipient
    assert sorted(r for _, rcpt, _ in smtp.mails for r in rcpt) == [
        "jane.doe@gmail.com",
        "ops@acme-research.com",
    ]
    sender, _, content = smtp.mails[0]
    assert sender == "jane.doe@gmail.com"
    mail = message_from_bytes(content)
    assert mail["Subject"] == f"stock-refresh failed on {socket.gethostname()}"
    assert f"failed: {failed}" in mail.get_payload(decode=True).decode()


def test_a_quiet_night_is_a_full_success_rate():
    from stock_refresh.report import success_rate

    assert success_rate(0, 0, "completed") == 100.0
    assert success_rate(0, 0, "aborted") == 0.0
    assert success_rate(3, 4, "completed") == 75.0


def test_no_secret_of_any_channel_reaches_a_log_a_report_or_the_console(tmp_path):
    """A run that fails (no upstream at all) and the failure unit after it, both verbose and
    with every channel failing: the secrets in the URLs' user info, path and query are nowhere."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    secrets = ("PWSECRET", "TOKSECRET", "PATHSECRET", "QUERYSECRET", "HCSECRET")
    config = write_config(
        tmp_path,
        f"http://127.0.0.1:{closed}",
        logging={"console_output": True},
        notifications={
            "enabled": True,
            "webhook_url": f"http://127.0.0.1:{closed}/services/T0/PATHSECRET?token=QUERYSECRET",
            "urls": [f"json://user:PWSECRET@127.0.0.1:{closed}/TOKSECRET"],
            "healthcheck_url": f"http://127.0.0.1:{closed}/HCSECRET",
        },
    )
    runs = [
        run_cli("--config", config, "--verbose"),
        run_cli("--config", config, "--verbose", "--notify-failure", "stock-refresh.service"),
    ]
    assert [r.returncode for r in runs] == [1, 0], runs[0].stderr[-2000:]
    console = "".join(r.stdout + r.stderr for r in runs)
    assert "notification via json://127.0.0.1" in console  # the failures are told, redacted
    assert f"healthcheck ping http://127.0.0.1:{closed}/... failed" in console
    written = [
        p.read_text() for folder in ("logs", "reports") for p in (tmp_path / folder).iterdir()
    ]
    for text in [console, *written]:
        for secret in secrets:
            assert secret not in text
