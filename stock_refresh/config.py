"""Load and validate batch_config.json.

The section dataclasses below are the schema: each field carries its JSON default, its rule and
its description, so validation, defaults and the README's reference come from one table. A bad
value stops the job before it touches anything, with one line that names the key, what was
expected and what was found, instead of a KeyError halfway through a night's run.

Regenerate the reference tables after changing a field:
    python -m stock_refresh.config README.md
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import os
import re
import sys
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .numeric import finite
from .redact import expand, redact

CONTACT_ENV = "STOCK_REFRESH_SEC_CONTACT"
# EDGAR requests per second: SEC blocks clients above 10; a test upstream on loopback may take
# up to EDGAR_MOST_RATE, which the benchmarks use to time-scale a night.
EDGAR_LEAST_RATE, SEC_MOST_RATE, EDGAR_MOST_RATE = 1, 10, 1000
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line meant for the user."""


class _Invalid(Exception):
    """A value broke its rule; `expected` overrides the rule's wording when a check knows more."""

    def __init__(self, expected: str | None = None):
        super().__init__(expected)
        self.expected = expected


@dataclass(frozen=True)
class Rule:
    """What a key accepts: `expected` is shown in errors and docs; `check` returns the value to
    store or raises _Invalid."""

    expected: str
    check: Callable[[Any], Any]
    show: Callable[[Any], str] | None = None  # how a bad value is shown (hides secrets)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and finite(v) is not None


def _require(ok: bool) -> None:
    if not ok:
        raise _Invalid


def _returning(test: Callable[[Any], bool]) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        _require(test(v))
        return v

    return check


def _nullable(rule: Rule) -> Rule:
    return Rule(
        f"null or {rule.expected}", lambda v: None if v is None else rule.check(v), rule.show
    )


BOOL = Rule("true or false", _returning(lambda v: isinstance(v, bool)))


# Every number has both bounds: a value far outside what anyone means (1e308 seconds, 1e-300
# requests per second) would pass a one-sided check and fail much later, in the middle of a run.
def integer(lo: int, hi: int) -> Rule:
    return Rule(f"an integer from {lo} to {hi}", _returning(lambda v: _is_int(v) and lo <= v <= hi))


def number(lo: float, hi: float) -> Rule:
    """A finite int or float from `lo` to `hi`."""
    return Rule(
        f"a number from {lo:g} to {hi:g}", _returning(lambda v: _is_number(v) and lo <= v <= hi)
    )


def _text(v: Any) -> str:
    _require(isinstance(v, str) and v.strip() != "")
    return v.strip()


TEXT = Rule("a non-empty string", _text)
PATH = Rule("a non-empty path string (relative to the config file's folder; ~ allowed)", _text)


def _file_name(v: Any) -> str:
    v = _text(v)
    _require("/" not in v and "\\" not in v and v not in (".", ".."))
    return v


FILE_NAME = Rule("a file name without folders", _file_name)


def _clock(v: Any) -> str:
    _require(isinstance(v, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v) is not None)
    return v


CLOCK = Rule('a 24-hour time "HH:MM"', _clock)


def _zone(v: Any) -> str:
    _require(isinstance(v, str) and v != "")
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _Invalid from None
    return v


ZONE = Rule('an IANA time zone such as "America/New_York"', _zone)


def _level(v: Any) -> str:
    _require(isinstance(v, str) and v.upper() in LOG_LEVELS)
    return v.upper()


LEVEL = Rule("one of " + ", ".join(LOG_LEVELS) + " (any case)", _level)


def _split_url(v: Any):
    _require(isinstance(v, str) and not re.search(r"\s", v))
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise _Invalid from None
    _require(parts.scheme in ("http", "https") and bool(parts.hostname))
    return parts


def _url(v: Any) -> str:
    _split_url(v)
    return v


URL = Rule("an http:// or https:// URL", _url)


def _origin(v: Any) -> str:
    parts = _split_url(v)
    _require(
        parts.port is not None
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
        and parts.username is None
    )
    return f"{parts.scheme}://{parts.netloc}"


ORIGIN = Rule(
    'an origin with an explicit port and no path, such as "http://127.0.0.1:8765"', _origin
)

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")


def _email(v: Any) -> str:
    _require(isinstance(v, str) and _EMAIL.fullmatch(v.strip()) is not None)
    return v.strip()


EMAIL = Rule("an e-mail address", _email)


def _emails(v: Any) -> list[str]:
    _require(isinstance(v, list))
    return [_email(item) for item in v]


EMAILS = Rule("a list of e-mail addresses", _emails)


def _host(v: Any) -> str:
    v = _text(v)
    _require(re.fullmatch(r"[A-Za-z0-9.:-]+", v) is not None)
    return v


HOST = Rule("a host name such as smtp.gmail.com", _host)


def _expanded(v: Any) -> str:
    """`v` with `${VAR}` read from the environment."""
    _require(isinstance(v, str) and v.strip() != "")
    try:
        return expand(v.strip(), os.environ)
    except KeyError as e:
        raise _Invalid(f"${{{e.args[0]}}} set in the environment or in .env") from None


def _show_urls(v: Any) -> str:
    if isinstance(v, str):
        return _show(redact(v))
    if isinstance(v, list):
        return _show([redact(u) if isinstance(u, str) else u for u in v])
    return _show(v)


def _apprise_urls(v: Any) -> list[str]:
    _require(isinstance(v, list))
    import apprise  # loaded only by configs that use it: about half a second

    urls = []
    for raw in v:
        url = _expanded(raw)
        if apprise.Apprise.instantiate(url) is None:
            raise _Invalid(
                f"apprise URLs (https://github.com/caronc/apprise/wiki): {redact(url)} is not one"
            )
        urls.append(url)
    return urls


APPRISE_URLS = Rule(
    'a list of apprise URLs such as "slack://${SLACK_TOKEN}"', _apprise_urls, _show_urls
)


def _secret_url(v: Any) -> str:
    return _url(_expanded(v))


WEBHOOK = Rule("an http:// or https:// URL", _secret_url, _show_urls)
PING_URL = Rule(
    "an http:// or https:// URL such as https://hc-ping.com/UUID", _secret_url, _show_urls
)
RETIRED_EMAIL_TO = Rule(
    "null (the local sendmail is no longer used: set notifications.email, or a mailto:// URL "
    "in notifications.urls)",
    lambda v: _require(v is None),
)

# Domains that people paste from examples; SEC blocks User-Agents that do not identify a real
# person or firm, so such a contact would only fail later, and far less clearly.
_PLACEHOLDER_TLDS = {"example", "test", "invalid", "localhost", "local", "lan", "internal"}
_PLACEHOLDER_NAMES = {
    "example",
    "sample",
    "test",
    "domain",
    "email",
    "company",
    "yourdomain",
    "yourcompany",
    "mydomain",
    "mycompany",
    "yoursite",
    "placeholder",
    "changeme",
}
_PLACEHOLDER_PEOPLE = {"name", "your name", "first last", "firstname lastname"}
CONTACT_EXPECTED = (
    'your own name and e-mail address, such as "Jane Doe jane.doe@gmail.com" '
    "(SEC refuses anonymous clients)"
)


def _registrable_name(domain: str) -> str:
    """`mail.acme.co.uk` -> `acme`: the label a person picks, under a TLD and a co./com. level."""
    labels = domain.lower().split(".")
    if len(labels) >= 3 and labels[-2] in {"co", "com", "org", "net", "ac", "gov", "edu"}:
        return labels[-3]
    return labels[-2]


def _contact(v: Any) -> str:
    if v is None:
        raise _Invalid(CONTACT_EXPECTED + f", set here or in ${CONTACT_ENV}")
    _require(isinstance(v, str))
    *name, address = v.split() or [""]
    found = _EMAIL.fullmatch(address.strip("<>"))
    if not found:
        raise _Invalid(CONTACT_EXPECTED + ": the last word must be an e-mail address")
    person = " ".join(name)
    if not re.search(r"[^\W\d_]", person):
        raise _Invalid(CONTACT_EXPECTED + ": a name must come before the address")
    domain = found.group(1).lower()
    placeholders = [f'"{person}"'] if person.lower() in _PLACEHOLDER_PEOPLE else []
    if (
        domain.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS
        or _registrable_name(domain) in _PLACEHOLDER_NAMES
    ):
        placeholders.append(domain)
    if placeholders:
        are = "are placeholders" if len(placeholders) > 1 else "is a placeholder"
        raise _Invalid(
            f"{CONTACT_EXPECTED}: {' and '.join(placeholders)} {are} to replace with your own"
        )
    return " ".join(v.split())


CONTACT = Rule(CONTACT_EXPECTED, _contact)


def setting(default: Any, rule: Rule, doc: str, *, path: bool = False):
    """A config key: its JSON default, its rule, what it means; `path` resolves it to a Path."""
    return field(metadata={"default": default, "rule": rule, "doc": doc, "path": path})


def section(cls: type, doc: str):
    return field(metadata={"section": cls, "doc": doc})


@dataclass(frozen=True)
class Scheduling:
    run_time: str = setting("02:00", CLOCK, "Time of day of the nightly run.")
    timezone: str = setting(
        "America/New_York", ZONE, "Time zone of `run_time` (not the machine's own zone)."
    )


@dataclass(frozen=True)
class Processing:
    batch_size: int = setting(
        100, integer(1, 10_000), "Symbols per batch; one progress line is logged per batch."
    )
    delay_between_batches_seconds: float = setting(0, number(0, 3600), "Pause between two batches.")
    max_workers: int = setting(
        32,
        integer(1, 64),
        "Most parts of stocks fetched at once. A run keeps as many on their way per upstream "
        "as its rate limit needs at the latency it measures (rate x latency twice over, and "
        "three more), up to this in all; the rate limits, not this number, bound the request "
        "rate.",
    )
    force_refresh: bool = setting(
        False, BOOL, "Refetch every data kind even when it is fresh (same as `--force`)."
    )


@dataclass(frozen=True)
class RateLimiting:
    edgar_requests_per_second: float = setting(
        9,
        number(EDGAR_LEAST_RATE, EDGAR_MOST_RATE),
        "Most EDGAR requests in any sliding second, for the whole process. SEC blocks clients "
        "above 10 for about 10 minutes, so more than 10 is refused unless "
        "`sources.upstream_override` points at a test upstream on loopback.",
    )
    yfinance_delay_seconds: float = setting(
        0.5, number(0, 60), "Least time between two Yahoo requests."
    )
    edgar_cooldown_seconds: float = setting(
        600,
        number(0, 3600),
        "After SEC answers 403 "
        '"Request Rate Threshold Exceeded", all EDGAR '
        "traffic pauses this long.",
    )
    request_timeout_seconds: float = setting(
        30, number(0.1, 600), "Timeout of every HTTP request (connect and read)."
    )
    edgar_shared_limiter_file: Path | None = setting(
        None,
        _nullable(PATH),
        "A file that holds the EDGAR limiter's window, so that other "
        "programs on this machine using the same file (see the README) and this job together "
        "stay under `edgar_requests_per_second`. null: the limit is this process's alone.",
        path=True,
    )


@dataclass(frozen=True)
class Logging:
    log_directory: Path = setting("logs", PATH, "Folder of the log file.", path=True)
    log_file: str = setting("batch_refresh.log", FILE_NAME, "Log file name inside `log_directory`.")
    max_log_size_mb: float = setting(10, number(0.0001, 10_000), "Size at which the log rotates.")
    backup_count: int = setting(5, integer(0, 1000), "Rotated log files kept.")
    log_level: str = setting("INFO", LEVEL, "Least severity written; stored in upper case.")
    console_output: bool = setting(False, BOOL, "Also log to the console (as `--verbose` does).")


@dataclass(frozen=True)
class Database:
    path: Path = setting(
        "stocks.db",
        PATH,
        "The screener's SQLite database; the lock file lives beside it.",
        path=True,
    )
    backup_before_run: bool = setting(
        True,
        BOOL,
        "Make a restore point before each run: an SQLite online-backup snapshot, of which only "
        "the pages changed since the last point are kept, compressed and read back; the "
        "database must pass integrity_check.",
    )
    backup_directory: Path = setting("backups", PATH, "Folder of the backups.", path=True)
    keep_last_n_backups: int = setting(
        7,
        integer(1, 1000),
        "Newest restore points kept, with the older points they are built on; older ones are "
        "deleted.",
    )
    full_backup_every: int = setting(
        7,
        integer(1, 1000),
        "At most this many points per chain: every Nth point is a full one (also when the "
        "incrementals since the last full one outweigh half of it). 1: every point is full.",
    )


@dataclass(frozen=True)
class ErrorHandling:
    max_consecutive_failures: int = setting(
        25, integer(1, 1_000_000), "This many failed stocks in a row abort the run (exit 1)."
    )
    retry_failed_stocks: bool = setting(
        True, BOOL, "Retry the failed stocks once more at the end of the run."
    )
    max_retries_per_stock: int = setting(
        3,
        integer(0, 10),
        "Retries of a failing request (backoff with jitter, honouring Retry-After) before "
        "its stock counts as failed. Retries happen in one place per request, parsing "
        "included: with N, a request that always fails is asked N + 1 times, and once more "
        "in the end-of-run retry pass (`retry_failed_stocks`), whose requests are not retried "
        "again. A 404 is never retried; a 403 that is neither SEC's throttle page nor S3's "
        '"no such object" is retried like a 500.',
    )
    continue_on_error: bool = setting(
        True, BOOL, "Go on after a failed stock; false stops at the first failure (exit 1)."
    )


@dataclass(frozen=True)
class Reporting:
    generate_summary: bool = setting(True, BOOL, "Write a JSON summary of each run.")
    summary_directory: Path = setting("reports", PATH, "Folder of the summaries.", path=True)
    keep_last_n_reports: int = setting(30, integer(1, 100_000), "Newest summaries kept.")
    dashboard: bool = setting(
        True, BOOL, "Write `dashboard.html` in summary_directory: the last 30 runs at a glance."
    )
    metrics_file: Path | None = setting(
        None,
        _nullable(PATH),
        "node_exporter textfile (`.prom`) of the last run's Prometheus metrics; null: none.",
        path=True,
    )
    pushgateway_url: str | None = setting(
        None,
        _nullable(URL),
        "Prometheus Pushgateway that gets the same metrics after each run (job `stock_refresh`).",
    )


@dataclass(frozen=True)
class Email:
    enabled: bool = setting(False, BOOL, "Mail the run's outcome over SMTP.")
    smtp_server: str | None = setting(None, _nullable(HOST), "SMTP server, such as smtp.gmail.com.")
    smtp_port: int = setting(
        587,
        integer(1, 65535),
        "465: TLS from the first byte; any other port: STARTTLS when the server offers it, "
        "else plain SMTP.",
    )
    from_address: str | None = setting(None, _nullable(EMAIL), "Sender address.")
    to_addresses: list[str] = setting([], EMAILS, "Recipients.")
    on_error_only: bool = setting(
        True, BOOL, "Mail failed runs only; false: every run. Login: see the README."
    )


@dataclass(frozen=True)
class Notifications:
    enabled: bool = setting(False, BOOL, "Send notifications; needs at least one channel below.")
    on_failure: bool = setting(True, BOOL, "Notify `urls`, `command` and `webhook_url` on failure.")
    on_success: bool = setting(False, BOOL, "Notify them when a run succeeds too.")
    urls: list[str] = setting(
        [],
        APPRISE_URLS,
        "Apprise URLs (slack://, discord://, mailtos://, ntfy://, ...); `${VAR}` is read from "
        "the environment or `.env`.",
    )
    command: str | None = setting(
        None,
        _nullable(TEXT),
        "Command run with the message "
        "as its last argument and in $STOCK_REFRESH_MESSAGE (no shell).",
    )
    webhook_url: str | None = setting(
        None,
        _nullable(WEBHOOK),
        "Slack or Discord webhook URL (sent as such), or any URL, which gets apprise's JSON POST.",
    )
    email_to: None = setting(None, RETIRED_EMAIL_TO, "Retired: use `email` below.")
    healthcheck_url: str | None = setting(
        None,
        _nullable(PING_URL),
        "Dead-man's switch (healthchecks.io style): pinged at `/start`, at the bare URL on "
        "success and at `/fail` on failure, whatever `enabled` says.",
    )
    email: Email = section(Email, "The original e-mail block, sent through apprise over SMTP.")


_SYMBOLS = "https://raw.githubusercontent.com/rreichel3/US-Stock-Symbols/main"


@dataclass(frozen=True)
class Sources:
    nyse_symbols_url: str = setting(
        f"{_SYMBOLS}/nyse/nyse_tickers.json", URL, "NYSE symbol list (a JSON array of tickers)."
    )
    nasdaq_symbols_url: str = setting(
        f"{_SYMBOLS}/nasdaq/nasdaq_tickers.json",
        URL,
        "NASDAQ symbol list (a JSON array of tickers).",
    )
    include_non_common: bool = setting(
        False, BOOL, "Keep preferreds, warrants, units and rights in the symbol list."
    )
    sec_contact: str = setting(
        None,
        CONTACT,
        f"Name and e-mail sent to SEC in the User-Agent. Required; `{CONTACT_ENV}` overrides it.",
    )
    companyfacts_zip_from: int = setting(
        1000,
        integer(0, 10_000_000),
        "Fetch SEC's nightly companyfacts.zip (about 1.4 GB) instead of one request per "
        "company when at least this many companies need their facts (a cold start, a long "
        "outage); 0: never. At 100 Mbit/s the archive takes what 1,000 requests take at 9/s.",
    )
    upstream_override: str | None = setting(
        None,
        _nullable(ORIGIN),
        "Send every upstream "
        "request to this address instead (the fake "
        "upstream); hosts not known are refused. Only an address on loopback may take more "
        "than SEC's 10 EDGAR requests per second.",
    )


@dataclass(frozen=True)
class Config:
    enabled: bool = setting(True, BOOL, "false: a run does nothing and exits 0.")
    scheduling: Scheduling = section(Scheduling, "When the job runs.")
    processing: Processing = section(Processing, "How the symbols are worked through.")
    rate_limiting: RateLimiting = section(RateLimiting, "How hard the upstreams are asked.")
    logging: Logging = section(Logging, "Where and what the job logs.")
    database: Database = section(Database, "The database and its backups.")
    error_handling: ErrorHandling = section(ErrorHandling, "Retries and the circuit breaker.")
    reporting: Reporting = section(Reporting, "Run summaries, metrics and the dashboard.")
    notifications: Notifications = section(
        Notifications, "Who hears about a finished or failed run."
    )
    sources: Sources = section(Sources, "Where the data comes from.")
    path: Path
    warnings: tuple[str, ...]


def _keys(cls: type) -> list[dataclasses.Field]:
    """The JSON keys of a dataclass, in file order (`path` and `warnings` are not keys)."""
    return [f for f in dataclasses.fields(cls) if "doc" in f.metadata]


def defaults() -> dict:
    """The whole default document, as batch_config.json ships it."""

    def build(cls: type) -> dict:
        return {
            f.name: build(f.metadata["section"])
            if "section" in f.metadata
            else f.metadata["default"]
            for f in _keys(cls)
        }

    return build(Config)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


class _Object(dict):
    """A JSON object that remembers keys given twice (json keeps the last one silently)."""

    def __init__(self, pairs: list[tuple[str, Any]]):
        super().__init__(pairs)
        names = [k for k, _ in pairs]
        self.twice = sorted({k for k in names if names.count(k) > 1})


class _Loader:
    def __init__(self, path: Path, shown: str):
        self.base = path.parent
        self.shown = shown
        self.warnings: list[str] = []

    def fail(self, key: str, expected: str, found: str) -> ConfigError:
        return ConfigError(f"{self.shown}: {key}: expected {expected}, found {found}")

    def build(self, cls: type, raw: Any, prefix: str, **extra: Any):
        name = prefix.rstrip(".") or "top level"
        if not isinstance(raw, dict):
            raise self.fail(name, "a JSON object {...}", _show(raw))
        if getattr(raw, "twice", None):
            raise self.fail(prefix + raw.twice[0], "the key once", "it more than once")
        known = {f.name: f for f in _keys(cls)}
        for key in raw:
            if key not in known and not key.startswith("_"):
                self.warn_unknown(prefix, key, known)
        values = {}
        for key, f in known.items():
            if "section" in f.metadata:
                values[key] = self.build(f.metadata["section"], raw.get(key, {}), f"{prefix}{key}.")
            else:
                values[key] = self.value(prefix + key, f, raw.get(key, f.metadata["default"]))
        return cls(**values, **extra)

    def value(self, key: str, f: dataclasses.Field, raw: Any) -> Any:
        rule: Rule = f.metadata["rule"]
        found = rule.show(raw) if rule.show else _show(raw)
        if key == "sources.sec_contact" and os.environ.get(CONTACT_ENV, "").strip():
            if raw is not None:
                self.warnings.append(f"{key} from the file is overridden by ${CONTACT_ENV}")
            raw = os.environ[CONTACT_ENV]
            found = f"{_show(raw)} (from ${CONTACT_ENV})"
        try:
            value = rule.check(raw)
        except _Invalid as e:
            raise self.fail(key, e.expected or rule.expected, found) from None
        if f.metadata["path"] and value is not None:
            return Path(os.path.normpath(self.base / Path(value).expanduser()))
        return value

    def warn_unknown(self, prefix: str, key: str, known: dict) -> None:
        near = difflib.get_close_matches(key, list(known), n=1)
        hint = f"; did you mean '{prefix}{near[0]}'?" if near else ""
        self.warnings.append(f"unknown key '{prefix}{key}' (ignored{hint})")


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a config file; raise ConfigError with a one-line reason."""
    file = Path(os.path.abspath(Path(path).expanduser()))
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not valid UTF-8 at byte {e.start}") from None
    try:
        raw = json.loads(text, object_pairs_hook=_Object)
    except json.JSONDecodeError as e:
        raise ConfigError(
            f"{path}: not valid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    loader = _Loader(file, str(path))
    config = loader.build(Config, raw, "", path=file, warnings=())
    _check_notifications(loader, config.notifications)
    rate = config.rate_limiting.edgar_requests_per_second
    if rate > SEC_MOST_RATE and not on_loopback(config.sources.upstream_override):
        raise loader.fail(
            "rate_limiting.edgar_requests_per_second",
            f"a number from {EDGAR_LEAST_RATE} to {SEC_MOST_RATE} (SEC allows 10 per second; "
            "more only with sources.upstream_override on loopback, a test upstream)",
            _show(rate),
        )
    return dataclasses.replace(config, warnings=tuple(loader.warnings))


def on_loopback(origin: str | None) -> bool:
    """Whether `origin` is this machine: only there can a test upstream take more than SEC."""
    host = urlsplit(origin).hostname if origin else None
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_notifications(loader: _Loader, notifications: Notifications) -> None:
    email = notifications.email
    if email.enabled:
        for key, value, expected in (
            ("smtp_server", email.smtp_server, "a host name"),
            ("from_address", email.from_address, "an e-mail address"),
            ("to_addresses", email.to_addresses, "at least one e-mail address"),
        ):
            if not value:
                raise loader.fail(
                    f"notifications.email.{key}",
                    f"{expected} while notifications.email.enabled is true",
                    _show(value if value is None else list(value)),
                )
    channels = (notifications.urls, notifications.command, notifications.webhook_url, email.enabled)
    if notifications.enabled and not any(channels):
        raise loader.fail(
            "notifications.enabled",
            "false while no channel (urls, command, webhook_url or email.enabled) is set",
            "true",
        )


def reference() -> str:
    """The Markdown tables of the README's configuration reference, one per section."""
    out = ["| key | default | accepts | meaning |\n|---|---|---|---|"]
    sections = []
    for f in _keys(Config):
        if "section" in f.metadata:
            sections.append(f)
            continue
        out.append(_row(f.name, f))
    for s in sections:
        out.extend(_table(s.name, s))
    return "\n".join(out) + "\n"


def _table(name: str, s: dataclasses.Field) -> list[str]:
    """One section's table, then the tables of the sections inside it."""
    fields = _keys(s.metadata["section"])
    out = [
        f"\n### `{name}`\n\n{s.metadata['doc']}\n\n"
        "| key | default | accepts | meaning |\n|---|---|---|---|"
    ]
    out.extend(_row(f"{name}.{f.name}", f) for f in fields if "section" not in f.metadata)
    for inner in (f for f in fields if "section" in f.metadata):
        out.extend(_table(f"{name}.{inner.name}", inner))
    return out


def _row(key: str, f: dataclasses.Field) -> str:
    cells = (
        f"`{key}`",
        f"`{json.dumps(f.metadata['default'])}`",
        f.metadata["rule"].expected,
        f.metadata["doc"],
    )
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


BEGIN, END = "<!-- reference:begin -->", "<!-- reference:end -->"


def with_reference(markdown: str) -> str:
    """`markdown` with the text between the reference markers replaced by fresh tables."""
    head, rest = markdown.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{reference()}{END}{tail}"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m stock_refresh.config README.md")
    doc = Path(sys.argv[1])
    doc.write_text(with_reference(doc.read_text()))
