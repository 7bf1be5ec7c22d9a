"""Where the project and its recorded fixtures live, for every test."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tools" / "fakeup" / "fixtures"
