"""data_fetcher.py's documented example, run as a user's script against the fake upstream."""

import textwrap

import data_fetcher
from tests.conftest import run_python, write_config


def docstring_example() -> str:
    """The indented block of data_fetcher's docstring, as a script."""
    lines = data_fetcher.__doc__.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    from data_fetcher"))
    end = next(i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith(" "))
    return textwrap.dedent("\n".join(lines[start:end]))


def test_the_documented_example_fetches_a_stock_and_quotes(fake, tmp_path):
    write_config(tmp_path, fake.url)  # batch_config.json in the script's working folder
    done = run_python("-c", docstring_example(), cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    stock, quotes = done.stdout.splitlines()
    name, price, years = stock.rsplit(" ", 2)
    assert name.startswith("Apple") and float(price) > 0 and int(years) > 20
    assert quotes.startswith("{'MSFT': ") and "'GOOGL': " in quotes
    assert not (tmp_path / "stocks.db").exists()  # a fetch writes nothing


def test_the_package_does_not_import_the_entry_point():
    script = "import sys, stock_refresh.runner; print('data_fetcher' in sys.modules)"
    done = run_python("-c", script)
    assert done.stdout.strip() == "False", done.stderr[-2000:]
