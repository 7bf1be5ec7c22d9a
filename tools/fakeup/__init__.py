"""Pieces of the fake upstream (tools/fake_upstream.py): data model, generators, routes, server."""
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
