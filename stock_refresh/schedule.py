"""Turn `scheduling.run_time`/`timezone` into a systemd timer or a cron entry, and render the
unit and crontab templates with real paths (setup_scheduler.sh calls the CLI at the bottom)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shlex
import sys
import urllib.parse
import zoneinfo
from pathlib import Path

from stock_refresh import clock

PROJECT_DIR = Path(__file__).resolve().parents[1]
SYSTEMD_UNITS = ("stock-refresh.service", "stock-refresh.timer", "stock-refresh-failure.service")
CRON_TEMPLATE = Path("cron") / "stock-refresh.cron"
CRON_BEGIN = "# >>> stock-refresh (managed by setup_scheduler.sh) >>>"
CRON_END = "# <<< stock-refresh <<<"
CONTACT_ENV = "STOCK_REFRESH_SEC_CONTACT"
_PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


class ScheduleError(ValueError):
    """A run time, zone or path that cannot be scheduled; the message says which."""


def parse_run_time(run_time: str) -> tuple[int, int]:
    """'HH:MM' (24-hour) -> (hour, minute)."""
    m = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)", run_time or "")
    if not m:
        raise ScheduleError(f'run_time must be a 24-hour "HH:MM", got {run_time!r}')
    return int(m[1]), int(m[2])


def check_timezone(timezone: str) -> zoneinfo.ZoneInfo:
    """The zone, or ScheduleError: systemd and cron silently fall back on a zone they lack."""
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(
            f"unknown time zone {timezone!r} (need an IANA name such as America/New_York)"
        ) from None


def on_calendar(run_time: str, timezone: str) -> str:
    """systemd OnCalendar= expression, zone included (systemd >= 235), e.g.
    '*-*-* 02:00:00 America/New_York'."""
    hour, minute = parse_run_time(run_time)
    check_timezone(timezone)
    return f"*-*-* {hour:02d}:{minute:02d}:00 {timezone}"


def cron_schedule(run_time: str) -> str:
    """The five cron time fields for a daily run, e.g. '0 2 * * *'."""
    hour, minute = parse_run_time(run_time)
    return f"{minute} {hour} * * *"


def _exists(moment: dt.datetime) -> bool:
    """False for a wall-clock time that a daylight-saving jump skips (02:30 on the spring
    change in New York): it does not survive a round trip through UTC."""
    back = moment.astimezone(dt.UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def next_run(run_time: str, timezone: str, now: dt.datetime) -> dt.datetime:
    """Next occurrence of run_time in timezone after `now` (aware), in that zone. Like systemd's
    timer, a day on which the time does not exist (skipped by a DST jump) has no run."""
    hour, minute = parse_run_time(run_time)
    tz = check_timezone(timezone)
    local = now.astimezone(tz)
    day = local.date()
    while True:
        candidate = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz)
        if candidate > local and _exists(candidate):
            return candidate
        day += dt.timedelta(days=1)


def skipped_days(run_time: str, timezone: str, start: dt.date, days: int = 366) -> list[dt.date]:
    """Days from `start` on which run_time does not exist in timezone, so the timer (and most
    crons) do not run at all."""
    hour, minute = parse_run_time(run_time)
    tz = check_timezone(timezone)
    return [
        day
        for day in (start + dt.timedelta(days=n) for n in range(days))
        if not _exists(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz))
    ]


def same_zone(a: str, b: str, year: int = 2026) -> bool:
    """True when two zone names give the same UTC offset all year (aliases such as
    'US/Eastern' and 'America/New_York', 'UTC' and 'Etc/UTC')."""
    if a == b:
        return True
    za, zb = check_timezone(a), check_timezone(b)
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    return all(
        (start + dt.timedelta(hours=h)).astimezone(za).utcoffset()
        == (start + dt.timedelta(hours=h)).astimezone(zb).utcoffset()
        for h in range(0, 366 * 24, 6)
    )


def system_timezone(
    localtime: Path = Path("/etc/localtime"), timezone_file: Path = Path("/etc/timezone")
) -> str | None:
    """The zone the cron daemon runs in: the zone /etc/localtime links to, else the name in
    /etc/timezone (Debian), else None."""
    target = os.path.realpath(localtime)
    names = []
    if "/zoneinfo/" in target:
        names.append(target.split("/zoneinfo/", 1)[1].removeprefix("posix/"))
    try:
        names.append(timezone_file.read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        pass
    for name in names:
        try:
            check_timezone(name)
        except ScheduleError:
            continue
        return name
    return None


def _clean_path(value: str) -> str:
    if not os.path.isabs(value):
        raise ScheduleError(f"not an absolute path: {value!r}")
    if any(c in value for c in '"\\\n\r\t') or not value.isprintable():
        raise ScheduleError(
            f"path has a quote, backslash or control character, which unit "
            f"files and crontabs cannot carry safely: {value!r}"
        )
    return value


def _substitute(template: str, values: dict[str, str], where: str) -> str:
    def one(m: re.Match) -> str:
        if m[1] not in values:
            raise ScheduleError(f"{where}: unknown placeholder @{m[1]}@")
        return values[m[1]]

    return _PLACEHOLDER.sub(one, template)


def render_unit(template: str, values: dict[str, str], where: str = "unit") -> str:
    """Fill @NAME@ placeholders in a systemd unit. '%' is a specifier everywhere, so it is
    doubled; in Exec lines '$' expands variables, so it is doubled too. Values go inside the
    template's own double quotes, which keep spaces in paths working."""
    plain = {k: v.replace("%", "%%") for k, v in values.items()}
    in_exec = {k: v.replace("$", "$$") for k, v in plain.items()}
    return "".join(
        _substitute(line, in_exec if line.lstrip().startswith("Exec") else plain, where)
        for line in template.splitlines(keepends=True)
    )


def env_file(config: str | os.PathLike) -> Path:
    """The `.env` beside the config (the project's own for the shipped config): KEY=value lines
    that the units (EnvironmentFile=) and the cron line load before the job starts."""
    return Path(os.path.abspath(os.path.expanduser(config))).parent / ".env"


def unit_values(
    project_dir: str, python: str, config: str, run_time: str, timezone: str
) -> dict[str, str]:
    """Placeholder values shared by the three unit templates."""
    project_dir = _clean_path(project_dir)
    return {
        "PROJECT_DIR": project_dir,
        "PYTHON": _clean_path(python),
        "README_URL": "file://" + urllib.parse.quote(project_dir + "/README.md"),
        "CONFIG": _clean_path(config),
        "ENV_FILE": _clean_path(str(env_file(config))),
        "ON_CALENDAR": on_calendar(run_time, timezone),
        "RUN_TIME": run_time,
        "TIMEZONE": timezone,
    }


def cron_values(
    project_dir: str,
    python: str,
    config: str,
    run_time: str,
    timezone: str,
    log_dir: str,
    flock: str,
) -> dict[str, str]:
    """Placeholder values of the crontab template."""
    log_dir = _clean_path(log_dir)
    check_timezone(timezone)
    return {
        "PROJECT_DIR": _clean_path(project_dir),
        "PYTHON": _clean_path(python),
        "CONFIG": _clean_path(config),
        "ENV_FILE": _clean_path(str(env_file(config))),
        "FLOCK": _clean_path(flock),
        "LOCK_FILE": os.path.join(log_dir, "stock-refresh.cron.lock"),
        "CRON_LOG": os.path.join(log_dir, "cron.log"),
        "CRON_SCHEDULE": cron_schedule(run_time),
        "RUN_TIME": run_time,
        "TIMEZONE": timezone,
    }


def render_cron_block(template: str, values: dict[str, str]) -> str:
    """Fill the crontab template. Paths are shell-quoted (cron runs the line with /bin/sh) and
    their '%' escaped (cron turns a bare '%' into a newline); the time fields and CRON_TZ are
    not shell and go in as they are."""
    raw = ("CRON_SCHEDULE", "TIMEZONE", "RUN_TIME")
    text = _substitute(
        template,
        {k: v if k in raw else shlex.quote(v).replace("%", "\\%") for k, v in values.items()},
        "cron",
    )
    lines = text.splitlines()
    if not lines or lines[0] != CRON_BEGIN or lines[-1] != CRON_END:
        raise ScheduleError("cron template must start and end with the stock-refresh markers")
    return text if text.endswith("\n") else text + "\n"


def write_if_changed(path: Path, text: str, dry_run: bool, mode: int = 0o644) -> str:
    """Write text unless the file already holds it; the status word tells the shell script
    what happened (new, updated, unchanged, or would-create/would-update on a dry run). A
    written file gets `mode` (less what the umask removes)."""
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    if old == text:
        return "unchanged"
    if dry_run:
        return "would-create" if old is None else "would-update"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "w") as out:
        out.write(text)
    os.replace(tmp, path)
    return "new" if old is None else "updated"


def env_assignment(name: str, value: str) -> str:
    """`NAME="value"` that sh's `.` and systemd's EnvironmentFile= read back the same: inside
    double quotes both take a backslash before `"`, `\\`, `$` and a backquote literally."""
    escaped = re.sub(r'(["\\$`])', r"\\\1", " ".join(value.split()))
    return f'{name}="{escaped}"'


def with_assignment(env_text: str, name: str, value: str) -> str:
    """An env file's text with `name` set to `value`: its first line replaced (later ones
    dropped), or a line added at the end; every other line kept."""
    out, found = [], False
    for old in env_text.splitlines():
        if not re.match(rf"\s*{name}=", old):
            out.append(old)
        elif not found:
            out.append(env_assignment(name, value))
            found = True
    if not found:
        out.append(env_assignment(name, value))
    return "\n".join(out) + "\n"


def market_hours_warning(run_time: str, timezone: str, today: dt.date) -> str | None:
    """A warning when the nightly run would start inside regular NYSE hours in the coming year."""
    from stock_refresh.market_calendar import run_time_in_market_hours

    if run_time_in_market_hours(run_time, timezone, today):
        return (
            f"scheduling.run_time {run_time} {timezone} falls inside regular NYSE hours "
            f"(09:30-16:00 America/New_York): prices fetched then are intraday"
        )
    return None


def _load(config_path: str):
    from stock_refresh.config import ConfigError, load_config

    try:
        return load_config(config_path)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def _cmd_systemd(args) -> None:
    cfg = _load(args.config)
    values = unit_values(
        str(args.project_dir),
        args.python,
        str(cfg.path),
        cfg.scheduling.run_time,
        cfg.scheduling.timezone,
    )
    for name in SYSTEMD_UNITS:
        template = (args.project_dir / "systemd" / name).read_text(encoding="utf-8")
        text = render_unit(template, values, name)
        target = args.out_dir / name
        print(write_if_changed(target, text, args.dry_run), target)


def _cmd_cron(args) -> None:
    cfg = _load(args.config)
    values = cron_values(
        str(args.project_dir),
        args.python,
        str(cfg.path),
        cfg.scheduling.run_time,
        cfg.scheduling.timezone,
        str(cfg.logging.log_directory),
        args.flock,
    )
    template = (args.project_dir / CRON_TEMPLATE).read_text(encoding="utf-8")
    sys.stdout.write(render_cron_block(template, values))


def _cmd_env_file(args) -> None:
    print(env_file(args.config))


def _cmd_save_contact(args) -> None:
    """Keep $STOCK_REFRESH_SEC_CONTACT in the config's .env, where the scheduled job finds it."""
    contact = " ".join(os.environ.get(CONTACT_ENV, "").split())
    if not contact:
        raise ScheduleError(f"${CONTACT_ENV} is not set: there is no contact to save")
    path = env_file(args.config)
    try:
        old = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = ""
    status = write_if_changed(path, with_assignment(old, CONTACT_ENV, contact), args.dry_run, 0o600)
    if status == "unchanged":
        print(f"${CONTACT_ENV} is already in {path}, which the scheduled job reads")
    elif args.dry_run:
        print(f"[dry-run] would save ${CONTACT_ENV} in {path} (owner-only)")
    else:
        print(f"saved ${CONTACT_ENV} in {path} (owner-only), which the scheduled job reads")


def _cmd_dirs(args) -> None:
    cfg = _load(args.config)
    for d in (
        cfg.logging.log_directory,
        cfg.database.backup_directory,
        cfg.reporting.summary_directory,
        cfg.database.path.parent,
    ):
        _clean_path(str(d))
        print(d)


def _cmd_on_calendar(args) -> None:
    cfg = _load(args.config)
    print(on_calendar(cfg.scheduling.run_time, cfg.scheduling.timezone))


def _cmd_info(args) -> None:
    cfg = _load(args.config)
    run_time, zone = cfg.scheduling.run_time, cfg.scheduling.timezone
    when = next_run(run_time, zone, clock.started())
    print(
        f"schedule: daily at {run_time} {zone} (OnCalendar={on_calendar(run_time, zone)}, "
        f"cron: {cron_schedule(run_time)})"
    )
    print(f"next run: {when:%a %Y-%m-%d %H:%M %Z} ({when.astimezone(dt.UTC):%H:%M} UTC)")
    for day in skipped_days(run_time, zone, when.date()):
        weekend = " (a weekend: no market session is lost)" if day.weekday() >= 5 else ""
        effect = "cron may run late or not at all" if args.cron else "the timer does not run"
        print(
            f"note: on {day:%a %Y-%m-%d} the clocks in {zone} jump over {run_time}: "
            f"{effect} that night{weekend}"
        )
    warning = market_hours_warning(run_time, zone, clock.today())
    if warning:
        print(f"warning: {warning}")
    if args.cron:
        system = system_timezone()
        if system is None or not same_zone(system, zone):
            print(
                f"warning: the system time zone is {system or 'unknown'}, not {zone}. crons "
                f"without CRON_TZ support (Debian and Ubuntu cron) will run at {run_time} "
                f"{system or 'system time'}; cronie honours CRON_TZ."
            )
    for w in cfg.warnings:
        print(f"warning: config: {w}")


def main(argv: list[str] | None = None) -> int:
    """CLI for setup_scheduler.sh: render units, the cron block, list folders, show the plan."""
    p = argparse.ArgumentParser(prog="python -m stock_refresh.schedule", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, func, helptext: str) -> argparse.ArgumentParser:
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--config", required=True, help="batch_config.json")
        s.set_defaults(func=func)
        return s

    def paths(s: argparse.ArgumentParser) -> None:
        s.add_argument("--project-dir", type=Path, default=PROJECT_DIR)
        s.add_argument("--python", required=True, help="the project's venv python")

    s = command("render-systemd", _cmd_systemd, "write the three user units into --out-dir")
    paths(s)
    s.add_argument("--out-dir", type=Path, required=True)
    s.add_argument("--dry-run", action="store_true", help="report, write nothing")
    s = command("render-cron", _cmd_cron, "print the crontab block")
    paths(s)
    s.add_argument("--flock", required=True, help="absolute path of flock(1)")
    command("dirs", _cmd_dirs, "print the folders the job writes to")
    command("env-file", _cmd_env_file, "print the path of the .env beside the config")
    s = command("save-contact", _cmd_save_contact, f"write ${CONTACT_ENV} into the .env")
    s.add_argument("--dry-run", action="store_true", help="report, write nothing")
    command("on-calendar", _cmd_on_calendar, "print the timer's OnCalendar= expression")
    s = command("info", _cmd_info, "print the schedule, next run and warnings")
    s.add_argument("--cron", action="store_true", help="add the cron time-zone checks")
    args = p.parse_args(argv)
    try:
        clock.start()
        args.func(args)
    except (ScheduleError, clock.ClockError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
