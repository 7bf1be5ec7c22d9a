#!/usr/bin/env python3
"""stock-refresh: keep a stock screener's SQLite database fresh from SEC EDGAR and Yahoo.

Exit codes: 0 done, 1 aborted (or terminated), 2 bad usage or configuration, 3 done but some
stocks failed on upstream faults, 73 the --demo folder cannot be written, 75 another refresh is
running;
--restore's own codes are in stock_refresh/restore.py.
"""

import argparse
import sys
from pathlib import Path

from stock_refresh.stop import Terminated, catch_sigterm

DEFAULT_CONFIG = Path(__file__).resolve().parent / "batch_config.json"


class OneLineParser(argparse.ArgumentParser):
    """A bad argument is one line, like every other error of the job (argparse adds the usage)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv):
    from stock_refresh import clock

    parser = OneLineParser(
        prog="batch_refresh.py",
        description="Refresh every NYSE and NASDAQ common stock: fundamentals from SEC EDGAR, "
        "market data from Yahoo, written to SQLite, with a JSON summary report.",
        epilog="exit codes: 0 done, 1 aborted or terminated, 2 bad usage or configuration, "
        "3 done but some stocks failed on upstream faults, "
        "73 the --demo folder cannot be written, 75 another refresh is running. "
        f"{clock.NOW_ENV}={clock.EXAMPLE} runs as if started at that moment (UTC offset required)",
    )
    parser.add_argument(
        "--config",
        default=str(DEFAULT_CONFIG),
        help="config file (default: batch_config.json beside this script)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="fetch the symbol list and print what would be done; write nothing",
    )
    parser.add_argument(
        "--limit", type=positive_int, metavar="N", help="process only the first N symbols"
    )
    parser.add_argument(
        "--symbols", type=symbol_list, metavar="AAPL,MSFT", help="process only these symbols"
    )
    parser.add_argument(
        "--force", action="store_true", help="refresh every data kind, fresh or not"
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging on the console")
    parser.add_argument(
        "--check-config", action="store_true", help="validate the config and exit (0 ok, 2 bad)"
    )
    parser.add_argument(
        "--list-backups",
        action="store_true",
        help="list the restore points (when, size, kind, verified) and exit",
    )
    parser.add_argument(
        "--restore",
        nargs="?",
        const="",
        metavar="POINT",
        help="restore the database from POINT (a name --list-backups shows; default: the newest)",
    )
    parser.add_argument(
        "--notify-failure",
        metavar="UNIT",
        help="send the failure notification for UNIT (used by systemd OnFailure=)",
    )
    parser.add_argument(
        "--demo",
        nargs="?",
        const="demo",
        metavar="FOLDER",
        help="run the job offline against the bundled fake upstream, into FOLDER "
        "(default: demo/ in the current folder), and show what it stored",
    )
    args = parser.parse_args(argv)
    if args.demo is not None:
        others = [
            flag
            for flag, given in (
                ("--config", args.config != str(DEFAULT_CONFIG)),
                ("--dry-run", args.dry_run),
                ("--limit", args.limit),
                ("--symbols", args.symbols),
                ("--force", args.force),
                ("--check-config", args.check_config),
                ("--notify-failure", args.notify_failure),
            )
            if given
        ]
        if others:
            parser.error(f"--demo uses its own config and options, drop {', '.join(others)}")
    return args


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text!r}")
    return value


def symbol_list(text: str) -> list[str]:
    symbols = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not symbols:
        raise argparse.ArgumentTypeError(f"expected comma-separated symbols, found {text!r}")
    return symbols


def main(argv=None) -> int:
    try:
        return dispatch(parse_args(argv))
    except Terminated as error:
        print(f"{error} before the run started; nothing was changed", file=sys.stderr)
        return 1


def dispatch(args) -> int:
    # imported here, not at the top: a SIGTERM while they load is then caught by main()
    from stock_refresh import clock
    from stock_refresh.config import ConfigError, load_config

    if args.demo is not None:
        from stock_refresh.demo import main as demo

        return demo(Path(args.demo), args.verbose)
    try:
        clock.start()
    except clock.ClockError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    if args.check_config:
        from stock_refresh.runner import config_warnings

        for warning in config_warnings(config):
            print(f"config warning: {warning}", file=sys.stderr)
        print(f"config ok: {config.path}")
        return 0
    if args.list_backups:
        from stock_refresh.restore import run_list

        return run_list(config)
    if args.restore is not None:
        from stock_refresh.restore import run_restore

        return run_restore(config, args.restore or None)
    if args.notify_failure:
        from stock_refresh.notify import notify_failure

        notify_failure(config.notifications, args.notify_failure, config.logging.log_directory)
        return 0
    from stock_refresh.runner import Options, run

    return run(
        config,
        Options(
            dry_run=args.dry_run,
            limit=args.limit,
            symbols=args.symbols,
            force=args.force,
            verbose=args.verbose,
        ),
    )


if __name__ == "__main__":
    catch_sigterm()  # first thing: from here on a SIGTERM ends the job with one line
    sys.exit(main())
