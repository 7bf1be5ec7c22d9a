"""The schedule expressions and template rendering, checked against systemd's own parser."""

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stock_refresh import schedule
from stock_refresh.schedule import (
    CONTACT_ENV,
    CRON_BEGIN,
    CRON_END,
    ScheduleError,
    cron_schedule,
    market_hours_warning,
    next_run,
    on_calendar,
    render_cron_block,
    render_unit,
    same_zone,
    skipped_days,
    system_timezone,
    unit_values,
    with_assignment,
    write_if_changed,
)
from tests.paths import ROOT
from tests.pinned import TEST_NOW

PYTHON = str(ROOT / ".venv" / "bin" / "python")
UTC = dt.UTC


def analyze() -> str:
    path = shutil.which("systemd-analyze")
    assert path, "systemd-analyze is missing (apt-get install systemd); CI needs it"
    return path


def write_config(folder: Path, **scheduling) -> Path:
    path = folder / "batch_config.json"
    path.write_text(
        json.dumps(
            {"scheduling": scheduling, "sources": {"sec_contact": "Jane Doe jane.doe@gmail.com"}}
        )
    )
    return path


@pytest.mark.parametrize(
    "run_time, zone, expected",
    [
        ("02:00", "America/New_York", "*-*-* 02:00:00 America/New_York"),
        ("23:59", "Asia/Kolkata", "*-*-* 23:59:00 Asia/Kolkata"),
        ("00:05", "UTC", "*-*-* 00:05:00 UTC"),
    ],
)
def test_on_calendar(run_time, zone, expected):
    assert on_calendar(run_time, zone) == expected


@pytest.mark.parametrize(
    "run_time, zone",
    [
        ("02:00", "America/New_York"),
        ("23:59", "Asia/Kolkata"),
        ("00:05", "UTC"),
        ("06:30", "Europe/Berlin"),
    ],
)
@pytest.mark.date_sensitive
def test_on_calendar_passes_systemd_analyze_and_agrees_with_next_run(run_time, zone):
    expr = on_calendar(run_time, zone)
    base = f"--base-time=@{int(TEST_NOW.timestamp())}"
    result = subprocess.run(
        [analyze(), "calendar", "--iterations=1", base, expr],
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": "UTC"},
    )
    assert result.returncode == 0, result.stderr
    assert f"Normalized form: {expr}" in result.stdout
    elapse = re.search(r"Next elapse: \w+ (\S+ \S+) UTC", result.stdout)[1]
    expected = next_run(run_time, zone, TEST_NOW).astimezone(UTC)
    assert elapse == f"{expected:%Y-%m-%d %H:%M:%S}"


@pytest.mark.parametrize("run_time", ["2:00", "24:00", "12:60", "", "02:00:00", "noon"])
def test_bad_run_time(run_time):
    with pytest.raises(ScheduleError, match="HH:MM"):
        on_calendar(run_time, "UTC")
    with pytest.raises(ScheduleError):
        cron_schedule(run_time)


def test_bad_timezone():
    with pytest.raises(ScheduleError, match="unknown time zone 'Mars/Olympus'"):
        on_calendar("02:00", "Mars/Olympus")


@pytest.mark.parametrize(
    "run_time, expected",
    [
        ("02:00", "0 2 * * *"),
        ("00:00", "0 0 * * *"),
        ("23:45", "45 23 * * *"),
        ("07:05", "5 7 * * *"),
    ],
)
def test_cron_schedule(run_time, expected):
    assert cron_schedule(run_time) == expected


def test_next_run_follows_the_zone_and_skips_a_time_dst_jumps_over():
    # 8 March 2026: New York goes from 02:00 EST straight to 03:00 EDT; systemd has no 02:30
    # elapse that day (systemd-analyze calendar lists 7 March, then 9 March).
    before = dt.datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    first = next_run("02:30", "America/New_York", before)
    assert first.astimezone(UTC) == dt.datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # EDT, UTC-4
    assert next_run("03:00", "America/New_York", before).astimezone(UTC) == dt.datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )
    assert next_run(
        "01:30", "America/New_York", dt.datetime(2026, 11, 1, 4, tzinfo=UTC)
    ).astimezone(UTC) == dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # first of the two


def test_skipped_days():
    start = dt.date(2026, 11, 29)
    assert skipped_days("02:00", "America/New_York", start) == [dt.date(2027, 3, 14)]
    assert skipped_days("02:30", "Europe/Berlin", start) == [dt.date(2027, 3, 28)]
    assert skipped_days("01:30", "America/New_York", start) == []
    assert skipped_days("02:00", "Asia/Tokyo", start) == []


def test_same_zone():
    assert same_zone("US/Eastern", "America/New_York")
    assert same_zone("UTC", "Etc/UTC")
    assert same_zone("Europe/London", "Europe/Lisbon")  # other names, same offsets all year
    assert not same_zone("Europe/Berlin", "Europe/London")
    assert not same_zone("America/New_York", "America/Chicago")


def test_system_timezone_from_link_or_etc_timezone(tmp_path):
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert system_timezone(link, tmp_path / "none") == "Europe/Berlin"
    copy = tmp_path / "copied"
    copy.write_bytes(b"TZif")
    (tmp_path / "timezone").write_text("Asia/Tokyo\n")
    assert system_timezone(copy, tmp_path / "timezone") == "Asia/Tokyo"
    assert system_timezone(copy, tmp_path / "none") is None


def test_render_unit_escapes_specifiers_and_variables():
    template = (
        'WorkingDirectory=@PROJECT_DIR@\nExecStart="@PYTHON@" "@PROJECT_DIR@/batch_refresh.py"\n'
    )
    text = render_unit(template, {"PROJECT_DIR": "/srv/50% $HOME", "PYTHON": "/usr/bin/py"})
    assert text == (
        "WorkingDirectory=/srv/50%% $HOME\n"
        'ExecStart="/usr/bin/py" "/srv/50%% $$HOME/batch_refresh.py"\n'
    )


def test_render_refuses_unknown_placeholders_and_unsafe_paths():
    with pytest.raises(ScheduleError, match="unknown placeholder @NOPE@"):
        render_unit("X=@NOPE@\n", {})
    with pytest.raises(ScheduleError, match="quote"):
        unit_values('/srv/a"b', PYTHON, "/c.json", "02:00", "UTC")
    with pytest.raises(ScheduleError, match="not an absolute path"):
        unit_values("srv", PYTHON, "/c.json", "02:00", "UTC")


def test_cron_block_quotes_paths_for_sh_and_escapes_percent():
    template = (ROOT / "cron" / "stock-refresh.cron").read_text()
    values = schedule.cron_values(
        "/srv/my stocks",
        "/srv/my stocks/.venv/bin/python",
        "/srv/my stocks/100%.json",
        "02:00",
        "America/New_York",
        "/srv/my stocks/logs",
        "/usr/bin/flock",
    )
    block = render_cron_block(template, values)
    lines = block.splitlines()
    assert lines[0] == CRON_BEGIN and lines[-1] == CRON_END
    assert "CRON_TZ=America/New_York" in lines
    entry = next(line for line in lines if line.startswith("0 2 * * * "))
    assert entry == (
        "0 2 * * * cd '/srv/my stocks' && if [ -f '/srv/my stocks/.env' ]; then set -a && "
        ". '/srv/my stocks/.env' && set +a; fi && /usr/bin/flock -n "
        "'/srv/my stocks/logs/stock-refresh.cron.lock' "
        "'/srv/my stocks/.venv/bin/python' '/srv/my stocks'/batch_refresh.py "
        r"--config '/srv/my stocks/100\%.json' >> '/srv/my stocks/logs/cron.log' 2>&1"
    )


def test_cron_markers_match_the_script():
    script = (ROOT / "setup_scheduler.sh").read_text()
    assert f"CRON_BEGIN='{CRON_BEGIN}'" in script
    assert f"CRON_END='{CRON_END}'" in script


def test_write_if_changed(tmp_path):
    target = tmp_path / "units" / "a.service"
    assert write_if_changed(target, "one\n", dry_run=True) == "would-create"
    assert not target.exists()
    assert write_if_changed(target, "one\n", dry_run=False) == "new"
    assert write_if_changed(target, "one\n", dry_run=False) == "unchanged"
    assert write_if_changed(target, "two\n", dry_run=True) == "would-update"
    assert target.read_text() == "one\n"
    assert write_if_changed(target, "two\n", dry_run=False) == "updated"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.service"]


def test_templates_avoid_the_old_mistakes():
    service = (ROOT / "systemd" / "stock-refresh.service").read_text()
    timer = (ROOT / "systemd" / "stock-refresh.timer").read_text()
    settings = [
        line
        for text in (service, timer)
        for line in text.splitlines()
        if line and not line.startswith("#")
    ]
    for bad in (
        "User=",
        "MemoryLimit=",
        "Requires=",
        "After=network",
        "multi-user.target",
        "/home/user",
        "/usr/bin/python3",
    ):
        assert not any(line.startswith(bad) or bad in line for line in settings), bad
    for good in (
        "Type=oneshot",
        "SuccessExitStatus=75",
        "TimeoutStartSec=",
        "MemoryMax=",
        "CPUQuota=",
        "NoNewPrivileges=yes",
        "CacheDirectory=stock-refresh",
        "SyslogIdentifier=stock-refresh",
        "OnFailure=stock-refresh-failure.service",
    ):
        assert any(line.startswith(good) for line in settings), good
    for good in (
        "OnCalendar=@ON_CALENDAR@",
        "Persistent=true",
        "RandomizedDelaySec=",
        "WantedBy=timers.target",
    ):
        assert good in settings or any(line.startswith(good) for line in settings), good


def test_render_systemd_cli_with_awkward_paths_passes_verify(tmp_path):
    """A clone in a folder with a space and a percent sign still gives valid units."""
    project = tmp_path / "my stocks 100%"
    shutil.copytree(ROOT / "systemd", project / "systemd")
    (project / "batch_refresh.py").write_text("")
    config = write_config(tmp_path, run_time="01:15", timezone="Europe/Berlin")
    out = tmp_path / "user"
    assert (
        schedule.main(
            [
                "render-systemd",
                "--config",
                str(config),
                "--project-dir",
                str(project),
                "--python",
                PYTHON,
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    timer = (out / "stock-refresh.timer").read_text()
    assert "OnCalendar=*-*-* 01:15:00 Europe/Berlin\n" in timer
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    result = subprocess.run(
        [analyze(), "verify", "--user", "--man=no", *map(str, sorted(out.iterdir()))],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.mark.date_sensitive
def test_cli_info_and_dirs(tmp_path, capsys):
    config = write_config(tmp_path, run_time="10:00", timezone="America/New_York")
    assert schedule.main(["info", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "schedule: daily at 10:00 America/New_York" in out
    assert "inside regular NYSE hours" in out
    config = write_config(tmp_path, run_time="02:00", timezone="America/New_York")
    assert schedule.main(["info", "--config", str(config)]) == 0
    note = (
        r"note: on Sun \d{4}-03-\d\d the clocks in America/New_York jump over 02:00: "
        r"the timer does not run that night \(a weekend"
    )
    assert re.search(note, capsys.readouterr().out)
    assert schedule.main(["dirs", "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        str(tmp_path / "logs"),
        str(tmp_path / "backups"),
        str(tmp_path / "reports"),
        str(tmp_path),
    ]


def test_cli_bad_config(tmp_path, capsys):
    (tmp_path / "batch_config.json").write_text("{")
    with pytest.raises(SystemExit) as exit_info:
        schedule.main(["on-calendar", "--config", str(tmp_path / "batch_config.json")])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("config error: ")


def test_market_hours_warning():
    assert market_hours_warning("02:00", "America/New_York", TEST_NOW.date()) is None
    assert "intraday" in market_hours_warning("15:30", "Europe/London", TEST_NOW.date())


@pytest.mark.parametrize(
    "contact",
    [
        "Jane Doe jane.doe@gmail.com",
        "Zoë O'Brien zoe+sec@mail.tu-berlin.de",
        'Ops "Night" Team $HOME `id` back\\slash ops@acme-research.com',
    ],
)
def test_saved_contact_reads_back_the_same_in_sh(tmp_path, contact):
    env_file = tmp_path / ".env"
    env_file.write_text(with_assignment("", CONTACT_ENV, contact))
    read = subprocess.run(
        ["/bin/sh", "-c", f'set -a; . "$1"; printf %s "${CONTACT_ENV}"', "sh", str(env_file)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=True,
    )
    assert read.stdout == contact


def test_with_assignment_replaces_the_line_and_keeps_the_others():
    line = f'{CONTACT_ENV}="Jane Doe jane.doe@gmail.com"'
    assert with_assignment("", CONTACT_ENV, "Jane Doe jane.doe@gmail.com") == line + "\n"
    old = f"TZ=UTC\n{CONTACT_ENV}=old\n# note\n {CONTACT_ENV}=older\nLANG=C"
    assert with_assignment(old, CONTACT_ENV, "Jane  Doe\tjane.doe@gmail.com") == (
        f"TZ=UTC\n{line}\n# note\nLANG=C\n"
    )


def test_save_contact_cli_writes_an_owner_only_env_beside_the_config(tmp_path, capsys, monkeypatch):
    config = write_config(tmp_path)
    env_file = tmp_path / ".env"
    monkeypatch.delenv(CONTACT_ENV, raising=False)
    assert schedule.main(["save-contact", "--config", str(config)]) == 2
    assert "is not set" in capsys.readouterr().err and not env_file.exists()

    monkeypatch.setenv(CONTACT_ENV, "Jane Doe jane.doe@gmail.com")
    assert schedule.main(["save-contact", "--config", str(config), "--dry-run"]) == 0
    assert f"would save ${CONTACT_ENV} in {env_file}" in capsys.readouterr().out
    assert not env_file.exists()
    assert schedule.main(["save-contact", "--config", str(config)]) == 0
    assert f"saved ${CONTACT_ENV} in {env_file} (owner-only)" in capsys.readouterr().out
    assert env_file.read_text() == f'{CONTACT_ENV}="Jane Doe jane.doe@gmail.com"\n'
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert schedule.main(["save-contact", "--config", str(config)]) == 0
    assert "is already in" in capsys.readouterr().out
    assert schedule.main(["env-file", "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"{env_file}\n"
