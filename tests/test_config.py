"""The config layer: real files in tmp_path, and the real CLI as a subprocess for bad configs."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stock_refresh.config import CONTACT_ENV, ConfigError, defaults, load_config, with_reference
from tests.paths import ROOT

CONTACT = "Jane Doe jane.doe@gmail.com"


@pytest.fixture(autouse=True)
def _no_contact_in_env(monkeypatch):
    monkeypatch.delenv(CONTACT_ENV, raising=False)


def config_text(sections: dict | None = None, contact: str | None = CONTACT) -> str:
    """A config with a valid SEC contact plus `sections`, which may override anything."""
    doc = {"sources": {"sec_contact": contact}}
    for name, value in (sections or {}).items():
        if isinstance(value, dict) and isinstance(doc.get(name), dict):
            doc[name] = {**doc[name], **value}
        else:
            doc[name] = value
    return json.dumps(doc)


def write(folder: Path, text: str, name: str = "batch_config.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# (case id, file text, the dotted key the one-line message must name)
MALFORMED = [
    ("enabled-as-int", config_text({"enabled": 1}), "enabled"),
    (
        "bool-as-string",
        config_text({"processing": {"force_refresh": "true"}}),
        "processing.force_refresh",
    ),
    ("int-as-float", config_text({"processing": {"batch_size": 100.0}}), "processing.batch_size"),
    ("int-as-bool", config_text({"processing": {"batch_size": True}}), "processing.batch_size"),
    ("batch-size-zero", config_text({"processing": {"batch_size": 0}}), "processing.batch_size"),
    (
        "workers-as-string",
        config_text({"processing": {"max_workers": "8"}}),
        "processing.max_workers",
    ),
    ("workers-over-64", config_text({"processing": {"max_workers": 65}}), "processing.max_workers"),
    (
        "batch-delay-negative",
        config_text({"processing": {"delay_between_batches_seconds": -0.5}}),
        "processing.delay_between_batches_seconds",
    ),
    (
        "edgar-rate-over-sec-limit",
        config_text({"rate_limiting": {"edgar_requests_per_second": 11}}),
        "rate_limiting.edgar_requests_per_second",
    ),
    (
        "edgar-rate-zero",
        config_text({"rate_limiting": {"edgar_requests_per_second": 0}}),
        "rate_limiting.edgar_requests_per_second",
    ),
    (
        "yahoo-delay-negative",
        config_text({"rate_limiting": {"yfinance_delay_seconds": -1}}),
        "rate_limiting.yfinance_delay_seconds",
    ),
    (
        "cooldown-nan",
        config_text().replace("{", '{"rate_limiting": {"edgar_cooldown_seconds": NaN}, ', 1),
        "rate_limiting.edgar_cooldown_seconds",
    ),
    (
        "timeout-zero",
        config_text({"rate_limiting": {"request_timeout_seconds": 0}}),
        "rate_limiting.request_timeout_seconds",
    ),
    ("log-size-zero", config_text({"logging": {"max_log_size_mb": 0}}), "logging.max_log_size_mb"),
    (
        "log-backups-negative",
        config_text({"logging": {"backup_count": -1}}),
        "logging.backup_count",
    ),
    ("log-level-unknown", config_text({"logging": {"log_level": "VERBOSE"}}), "logging.log_level"),
    (
        "log-level-multiline",
        config_text({"logging": {"log_level": "INFO\nDEBUG"}}),
        "logging.log_level",
    ),
    (
        "log-file-with-folder",
        config_text({"logging": {"log_file": "logs/run.log"}}),
        "logging.log_file",
    ),
    ("db-path-empty", config_text({"database": {"path": ""}}), "database.path"),
    ("db-path-number", config_text({"database": {"path": 5}}), "database.path"),
    (
        "keep-backups-zero",
        config_text({"database": {"keep_last_n_backups": 0}}),
        "database.keep_last_n_backups",
    ),
    (
        "breaker-zero",
        config_text({"error_handling": {"max_consecutive_failures": 0}}),
        "error_handling.max_consecutive_failures",
    ),
    (
        "retries-over-10",
        config_text({"error_handling": {"max_retries_per_stock": 11}}),
        "error_handling.max_retries_per_stock",
    ),
    (
        "keep-reports-float",
        config_text({"reporting": {"keep_last_n_reports": 2.5}}),
        "reporting.keep_last_n_reports",
    ),
    ("run-time-12h", config_text({"scheduling": {"run_time": "2:00 AM"}}), "scheduling.run_time"),
    ("run-time-25h", config_text({"scheduling": {"run_time": "25:00"}}), "scheduling.run_time"),
    (
        "timezone-unknown",
        config_text({"scheduling": {"timezone": "Mars/Olympus_Mons"}}),
        "scheduling.timezone",
    ),
    (
        "symbols-url-ftp",
        config_text({"sources": {"nyse_symbols_url": "ftp://example.org/x.json"}}),
        "sources.nyse_symbols_url",
    ),
    (
        "override-with-path",
        config_text({"sources": {"upstream_override": "http://127.0.0.1:8765/api"}}),
        "sources.upstream_override",
    ),
    (
        "override-without-port",
        config_text({"sources": {"upstream_override": "http://127.0.0.1"}}),
        "sources.upstream_override",
    ),
    (
        "webhook-not-url",
        config_text({"notifications": {"webhook_url": "hooks.example/x"}}),
        "notifications.webhook_url",
    ),
    (
        "email-not-address",
        config_text({"notifications": {"email_to": "ops"}}),
        "notifications.email_to",
    ),
    ("command-blank", config_text({"notifications": {"command": "   "}}), "notifications.command"),
    (
        "notify-without-channel",
        config_text({"notifications": {"enabled": True}}),
        "notifications.enabled",
    ),
    ("section-is-list", config_text({"processing": []}), "processing"),
    ("section-is-null", config_text({"logging": None}), "logging"),
    ("top-level-list", "[1, 2]", "top level"),
    (
        "key-given-twice",
        config_text().replace("{", '{"processing": {"batch_size": 5, "batch_size": 6}, ', 1),
        "processing.batch_size",
    ),
    ("contact-missing", config_text(contact=None), "sources.sec_contact"),
    (
        "contact-placeholder",
        config_text(contact="Jane Doe jane@example.com"),
        "sources.sec_contact",
    ),
    ("contact-without-name", config_text(contact="jane.doe@gmail.com"), "sources.sec_contact"),
    ("contact-not-string", config_text(contact=42), "sources.sec_contact"),
]

# (case id, file text or None for no file, a fragment of the one-line message)
UNREADABLE = [
    ("file-missing", None, "config file not found: "),
    (
        "json-broken",
        '{\n  "enabled": true,\n  "processing": {"batch_size": 5,}\n}',
        "not valid JSON at line 3 column 34: ",
    ),
    ("json-empty", "", "not valid JSON at line 1 column 1: "),
]


def assert_one_line_naming(message: str, path: Path, key: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: expected "), message
    assert ", found " in message


@pytest.mark.parametrize("text,key", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_config_names_the_key(tmp_path, text, key):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert_one_line_naming(str(err.value), path, key)


@pytest.mark.parametrize(
    "text,fragment", [c[1:] for c in UNREADABLE], ids=[c[0] for c in UNREADABLE]
)
def test_unreadable_file_is_one_line(tmp_path, text, fragment):
    path = tmp_path / "batch_config.json" if text is None else write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "\n" not in str(err.value)
    assert fragment in str(err.value)


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Run `batch_refresh.py --check-config` on every bad config at once (they are independent)."""
    env = {k: v for k, v in os.environ.items() if k != CONTACT_ENV}
    runs = {}
    for case, text, _ in MALFORMED + UNREADABLE:
        folder = tmp_path_factory.mktemp(case)
        path = folder / "batch_config.json" if text is None else write(folder, text)
        runs[case] = subprocess.Popen(
            [sys.executable, "batch_refresh.py", "--config", str(path), "--check-config"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    return {case: (p.wait(timeout=90), p.stderr.read()) for case, p in runs.items()}


@pytest.mark.parametrize(
    "case,key", [(c[0], c[2]) for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_cli_rejects_malformed_config(cli_runs, case, key):
    code, stderr = cli_runs[case]
    assert code == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("config error: ")
    assert f": {key}: expected " in lines[0]


@pytest.mark.parametrize(
    "case,fragment", [(c[0], c[2]) for c in UNREADABLE], ids=[c[0] for c in UNREADABLE]
)
def test_cli_rejects_unreadable_config(cli_runs, case, fragment):
    code, stderr = cli_runs[case]
    assert code == 2, stderr
    assert len(stderr.splitlines()) == 1 and stderr.startswith("config error: "), stderr
    assert fragment in stderr


def test_cli_accepts_a_good_config(tmp_path):
    path = write(tmp_path, config_text())
    env = {k: v for k, v in os.environ.items() if k != CONTACT_ENV}
    done = subprocess.run(
        [sys.executable, "batch_refresh.py", "--config", str(path), "--check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == [path], "checking a config must not create files"


def test_defaults_fill_missing_keys_and_sections(tmp_path):
    config = load_config(write(tmp_path, config_text()))
    for section, keys in defaults().items():
        if not isinstance(keys, dict):
            assert getattr(config, section) == keys
            continue
        for key, default in keys.items():
            value = getattr(getattr(config, section), key)
            if isinstance(value, Path):
                assert value == tmp_path / default
            elif isinstance(default, dict):
                assert dataclasses.asdict(value) == default, f"{section}.{key}"
            elif key != "sec_contact":
                assert value == default, f"{section}.{key}"
    assert config.warnings == ()
    assert config.path == tmp_path / "batch_config.json"


def test_unknown_keys_are_warned_by_name(tmp_path):
    text = config_text(
        {
            "processing": {"max_worker": 4},
            "notification": {},
            "colour": "blue",
            "_comment": "comments are fine",
        }
    )
    config = load_config(write(tmp_path, text))
    assert config.processing.max_workers == 32  # the default: the misspelt key is ignored
    assert set(config.warnings) == {
        "unknown key 'processing.max_worker' (ignored; did you mean 'processing.max_workers'?)",
        "unknown key 'notification' (ignored; did you mean 'notifications'?)",
        "unknown key 'colour' (ignored)",
    }


def test_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    write(
        tmp_path / "conf",
        config_text(
            {
                "logging": {"log_directory": str(tmp_path / "var" / "log")},
                "database": {"path": "data/stocks.db", "backup_directory": "../backups"},
                "reporting": {"summary_directory": "~/reports"},
            }
        ),
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config("../conf/batch_config.json")
    assert config.path == tmp_path / "conf" / "batch_config.json"
    assert config.database.path == tmp_path / "conf" / "data" / "stocks.db"
    assert config.database.backup_directory == tmp_path / "backups"
    assert config.logging.log_directory == tmp_path / "var" / "log"
    assert config.reporting.summary_directory == home / "reports"
    assert not list(elsewhere.iterdir()), "loading a config must not create files"


def test_shipped_config_needs_a_contact(monkeypatch):
    shipped = ROOT / "batch_config.json"
    with pytest.raises(ConfigError) as err:
        load_config(shipped)
    assert_one_line_naming(str(err.value), shipped, "sources.sec_contact")
    assert CONTACT_ENV in str(err.value) and str(err.value).endswith("found null")

    monkeypatch.setenv(CONTACT_ENV, CONTACT)
    config = load_config(shipped)
    assert config.sources.sec_contact == CONTACT
    assert config.warnings == ()


def test_shipped_config_lists_every_key_with_its_default():
    shipped = json.loads((ROOT / "batch_config.json").read_text())
    assert {k: v for k, v in shipped.items() if not k.startswith("_")} == defaults()


def test_reference_doc_is_in_sync_with_the_schema():
    doc = (ROOT / "README.md").read_text()
    assert with_reference(doc) == doc, "run: python -m stock_refresh.config README.md"


@pytest.mark.parametrize(
    "contact",
    [
        "Jane Doe jane@example.com",
        "Jane Doe jane@mail.example.org",
        "Jane Doe jane@example.net",
        "Jane Doe jane@shop.example",
        "Jane Doe jane@acme.test",
        "Jane Doe jane@acme.invalid",
        "Jane Doe jane@localhost",
        "Jane Doe jane@domain.com",
        "Jane Doe jane@email.com",
        "Jane Doe jane@company.com",
        "Your Name you@yourdomain.com",
        "Jane Doe jane@sample.co.uk",
        "Your Name jane.doe@gmail.com",
        "Jane Doe",
        "",
        "   ",
        "Jane Doe <jane@>",
    ],
)
def test_placeholder_contacts_are_refused(tmp_path, contact):
    path = write(tmp_path, config_text(contact=contact))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert_one_line_naming(str(err.value), path, "sources.sec_contact")


@pytest.mark.parametrize(
    "contact,stored",
    [
        (CONTACT, CONTACT),
        ("Acme Research ops@acme-research.com", "Acme Research ops@acme-research.com"),
        ("  Ada   Lovelace <ada@analytical.co.uk> ", "Ada Lovelace <ada@analytical.co.uk>"),
        ("Zoë O'Brien zoe+sec@mail.tu-berlin.de", "Zoë O'Brien zoe+sec@mail.tu-berlin.de"),
    ],
)
def test_real_contacts_are_accepted(tmp_path, contact, stored):
    config = load_config(write(tmp_path, config_text(contact=contact)))
    assert config.sources.sec_contact == stored


def test_contact_from_the_environment_overrides_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, config_text(contact="Jane Doe jane@example.com"))
    monkeypatch.setenv(CONTACT_ENV, "Ops Team ops@acme-research.com")
    config = load_config(path)
    assert config.sources.sec_contact == "Ops Team ops@acme-research.com"
    assert config.warnings == (
        f"sources.sec_contact from the file is overridden by ${CONTACT_ENV}",
    )

    monkeypatch.setenv(CONTACT_ENV, "nobody@example.com")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert_one_line_naming(str(err.value), path, "sources.sec_contact")
    assert str(err.value).endswith(f'found "nobody@example.com" (from ${CONTACT_ENV})')

    monkeypatch.setenv(CONTACT_ENV, "")
    with pytest.raises(ConfigError):
        load_config(path)


def test_values_are_normalised_and_frozen(tmp_path):
    config = load_config(
        write(
            tmp_path,
            config_text(
                {
                    "logging": {"log_level": "warning"},
                    "sources": {"upstream_override": "http://127.0.0.1:8765/"},
                    "notifications": {
                        "enabled": True,
                        "webhook_url": "https://hooks.acme-research.com/x",
                    },
                    "rate_limiting": {"edgar_requests_per_second": 10, "yfinance_delay_seconds": 0},
                }
            ),
        )
    )
    assert config.logging.log_level == "WARNING"
    assert config.sources.upstream_override == "http://127.0.0.1:8765"
    assert config.notifications.enabled and config.rate_limiting.edgar_requests_per_second == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.processing.batch_size = 1  # type: ignore[misc]


def test_byte_order_mark_is_tolerated(tmp_path):
    path = tmp_path / "batch_config.json"
    path.write_bytes(b"\xef\xbb\xbf" + config_text().encode())
    assert load_config(path).enabled is True


def test_edgar_rate_above_sec_limit_only_against_a_test_upstream(tmp_path):
    fast = {"rate_limiting": {"edgar_requests_per_second": 100}}
    with pytest.raises(ConfigError, match="rate_limiting.edgar_requests_per_second: expected"):
        load_config(write(tmp_path, config_text(fast)))
    fast["sources"] = {"upstream_override": "http://127.0.0.1:8080"}
    config = load_config(write(tmp_path, config_text(fast)))
    assert config.rate_limiting.edgar_requests_per_second == 100


def readme_set_up_run() -> str:
    """The last command of the README's set-up line: `STOCK_REFRESH_SEC_CONTACT=... python ...`."""
    section = (ROOT / "README.md").read_text().split("## Set-up", 1)[1]
    line = next(line for line in section.splitlines() if CONTACT_ENV in line)
    return line.rsplit(" && ", 1)[1]


def run_shell(command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != CONTACT_ENV}
    return subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


def test_readme_set_up_line_names_its_placeholder_and_works_with_a_real_contact():
    command = readme_set_up_run()
    assert command.startswith(f'{CONTACT_ENV}="Your Name you@yourdomain.com" ')
    as_written = run_shell(command + " --check-config")
    assert as_written.returncode == 2
    [line] = as_written.stderr.splitlines()
    assert '"Your Name" and yourdomain.com are placeholders to replace with your own' in line
    assert "a name must come before" not in line

    own = command.replace("Your Name", "Jane Doe").replace(
        "you@yourdomain.com", CONTACT.split()[-1]
    )
    filled_in = run_shell(own + " --check-config")
    assert filled_in.returncode == 0, filled_in.stderr
    assert filled_in.stdout.startswith("config ok: ")


def test_the_example_in_the_contact_message_is_itself_accepted(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, config_text(contact=None)))
    example = str(err.value).split("such as ", 1)[1].split('"')[1]
    assert load_config(write(tmp_path, config_text(contact=example))).sources.sec_contact == example


def test_the_original_email_block_and_secret_urls(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_TOKEN", "s3cret")
    email = {
        "enabled": True,
        "smtp_server": "smtp.gmail.com",
        "smtp_port": 587,
        "from_address": "jane.doe@gmail.com",
        "to_addresses": ["jane.doe@gmail.com"],
        "on_error_only": True,
    }
    notifications = {"enabled": True, "email": email, "urls": ["json://127.0.0.1/${HOOK_TOKEN}"]}
    config = load_config(write(tmp_path, config_text({"notifications": notifications})))
    assert config.notifications.email.smtp_server == "smtp.gmail.com"
    assert config.notifications.urls == ["json://127.0.0.1/s3cret"]
    monkeypatch.delenv("HOOK_TOKEN")
    with pytest.raises(ConfigError) as unset:
        load_config(write(tmp_path, config_text({"notifications": notifications})))
    assert str(unset.value).endswith(
        "notifications.urls: expected ${HOOK_TOKEN} set in the environment or in .env, "
        'found ["json://127.0.0.1/..."]'
    )


def test_email_to_is_refused_with_what_to_use(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_config(write(tmp_path, config_text({"notifications": {"email_to": "j@acme.com"}})))
    assert "notifications.email_to: expected null (the local sendmail is no longer used" in str(
        refused.value
    )
