"""Where the project and its recorded fixtures live, for every test."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tools" / "fakeup" / "fixtures"
sys.path.insert(0, str(ROOT / "tools"))  # the fake's modules (`fakeup`), for tests that read them
