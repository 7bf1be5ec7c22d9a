"""Pieces of the fake upstream (tools/fake_upstream.py): data model, generators, routes, server."""

from pathlib import Path

# Real recorded payloads (provenance in each folder's README.md), shipped with the project.
FIXTURES = Path(__file__).resolve().parent / "fixtures"
