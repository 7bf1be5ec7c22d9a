"""Everything the fake knows, built lazily and cached: companies, their filings, facts and
documents."""

import datetime as dt
import gzip
import io
import json
import random
import threading
import zipfile

from . import FIXTURES, documents, facts, fundamentals, profiles, schedule, submissions
from .cache import LRU, Body
from .dates import is_business_day
from .disk import DiskCache
from .model import Profile, Series

FIXTURE_FILES = {  # cik -> real payloads served byte-exact
    320193: {
        "facts": "edgar/companyfacts/CIK0000320193.json.gz",
        "subs": "edgar/submissions/CIK0000320193.json",
    },
    1652044: {"facts": "edgar/companyfacts/CIK0001652044.json.gz"},
    789019: {"subs": "edgar/submissions/CIK0000789019.json"},
    749647: {
        "subs": "edgar/submissions/CIK0000749647.json",
        "pages": {
            "CIK0000749647-submissions-001.json": (
                "edgar/submissions/CIK0000749647-submissions-001.json"
            )
        },
    },
    1997711: {"facts": "edgar/companyfacts/CIK0001997711.json"},
}
# Real Apple documents, served at their own URL and at the newest 10-K/10-Q of the AAPL submissions.
DOC_FIXTURES = {
    ("320193", "000032019324000123", "aapl-20240928.htm"): "filings/Apple.10-K.html.gz",
    ("320193", "000032019325000079", "aapl-20250927.htm"): "filings/Apple.10-K.html.gz",
    ("320193", "000032019324000081", "aapl-20240629.htm"): "filings/Apple.10-Q.html.gz",
    ("320193", "000032019326000006", "aapl-20251227.htm"): "filings/Apple.10-Q.html.gz",
}
INDEX_FIXTURES = {dt.date(2020, 3, 18): "edgar/index/form.20200318.idx"}
XBRL_START = dt.date(2009, 6, 1)
RECENT_INDEX_DAYS = (
    120  # daily indexes this close to as-of come from one cache file when there is one
)


def _read(rel: str) -> Body:
    data = (FIXTURES / rel).read_bytes()
    if rel.endswith(".gz"):
        body = Body(gzip.decompress(data))
        body._gz = data
        return body
    return Body(data)


# SEC's companyfacts.zip was 1,400,391,677 bytes on 2026-08-10: 280 KB for each of the ~5,000
# NYSE and NASDAQ common stocks a run covers, which the fake's archive is padded to
ARCHIVE_BYTES_PER_COMPANY = 1_400_391_677 // 5_000
FILLER_BLOCK = 1 << 20


class World:
    def __init__(
        self,
        seed: str,
        as_of: dt.date,
        companies: int,
        new_fraction: float = 0.0,
        cache_bytes: int = 256 << 20,
        cache_dir=None,
        memo_items: int = 3000,
        sec_closed: frozenset = frozenset(),
        filings_from: dt.date | None = None,
    ):
        self.seed, self.as_of = seed, as_of
        self.sec_closed = sec_closed
        self.disk = DiskCache(cache_dir, seed, as_of) if cache_dir else None
        filings_from = filings_from or as_of
        self.index_name = f"index-c{companies}-n{new_fraction!r}-f{filings_from}.json"
        self.big = LRU(cache_bytes)
        self.small = LRU(memo_items * 1000)  # models and filing lists, tens of KB each
        self.derived = LRU(40_000 * 1000)  # statement values and quotes, small: every company fits
        fixed = profiles.fixture_profiles(as_of)
        self.synthetic = [profiles.synthetic(i, seed, as_of) for i in range(companies)]
        self.profiles = fixed + self.synthetic
        self.by_symbol = {p.ticker: p for p in self.profiles}
        self.by_cik = {p.cik: p for p in self.profiles if p.cik}
        self.new_filers = self._pick_new_filers(new_fraction, filings_from)
        self._lock = threading.Lock()
        self._index = None
        self._recent = None
        self._static: dict[str, Body] = {}

    def _pick_new_filers(self, fraction: float, since: dt.date) -> dict[str, dt.date]:
        """company key -> the day it files a 10-Q (see schedule.build): `fraction` of the
        synthetic companies on each SEC business day from `since` through as-of, each once,
        drawn per day from the seed alone, so fakes of later as-of dates (and the same `since`)
        agree on every earlier day."""
        if fraction <= 0:
            return {}
        picked: dict[str, dt.date] = {}
        day = since
        while day <= self.as_of:
            if is_business_day(day):
                # those with a 10-Q pending first: an early 10-Q changes facts, an amendment not
                order = sorted(
                    (p for p in self.synthetic if p.key not in picked),
                    key=lambda p: (
                        schedule.pending_quarterly(p, self.seed, day) is None,
                        random.Random(f"{self.seed}/new/{day}/{p.key}").random(),
                    ),
                )
                count = round(fraction * len(self.synthetic))
                picked.update((p.key, day) for p in order[:count])
            day += dt.timedelta(days=1)
        return picked

    # ---- per company -------------------------------------------------------------------------
    def _generated(self, key: tuple, p: Profile, name: str, build):
        """A generated body, from memory, then the disk cache (when there is one), then build()."""
        if self.disk is None:
            return self.big.get(key, lambda: Body(build()))
        mark = f"-new{self.new_filers[p.key]}" if p.key in self.new_filers else ""
        return self.big.get(key, lambda: self.disk.get(f"{name}{mark}", build))

    def series(self, p: Profile) -> Series:
        return self.small.get(("series", p.key), lambda: Series(p, self.seed, self.as_of.year + 1))

    def real(self, p: Profile, kind: str):
        rel = FIXTURE_FILES.get(p.cik, {}).get(kind)
        return self.big.get(("real", rel), lambda: _read(rel)) if rel else None

    def real_facts_json(self, p: Profile) -> dict | None:
        body = self.real(p, "facts")
        if body is None:
            return None
        return self.small.get(("factsjson", p.key), lambda: json.loads(body.raw))

    def parts(self, p: Profile) -> tuple[list, list]:
        """(recent filings, [(page name, filings)]) for a company with a CIK."""
        return self.small.get(("parts", p.key), lambda: self._parts(p))

    def _parts(self, p: Profile):
        subs = self.real(p, "subs")
        if subs is not None:
            doc = json.loads(subs.raw)
            recent = submissions.from_columns(p, doc["filings"]["recent"])
            pages = []
            for entry in doc["filings"]["files"]:
                page = FIXTURE_FILES[p.cik].get("pages", {}).get(entry["name"])
                if page:
                    rows = submissions.from_columns(p, json.loads((FIXTURES / page).read_bytes()))
                else:
                    rows = submissions.generated_page(
                        p,
                        self.seed,
                        dt.date.fromisoformat(entry["filingFrom"]),
                        dt.date.fromisoformat(entry["filingTo"]),
                        entry["filingCount"],
                    )
                pages.append((entry["name"], rows))
            return recent, pages
        real_facts = self.real_facts_json(p)
        if real_facts is not None:
            return submissions.from_facts(p, real_facts), []
        rows = schedule.build(p, self.seed, self.as_of, self.new_filers.get(p.key))
        if not p.paged:
            return rows, []
        cutoff = self.as_of - dt.timedelta(days=4 * 365)
        return (
            [f for f in rows if f.filed >= cutoff],
            [(f"CIK{p.cik:010d}-submissions-001.json", [f for f in rows if f.filed < cutoff])],
        )

    def filings(self, p: Profile) -> list:
        recent, pages = self.parts(p)
        return recent + [f for _, rows in pages for f in rows]

    def facts_body(self, p: Profile) -> Body | None:
        if not p.cik:
            return None
        return self.real(p, "facts") or self._generated(
            ("facts", p.key),
            p,
            f"facts-{p.cik}",
            lambda: facts.build(
                p, self.series(p), [f for f in self.filings(p) if f.filed >= XBRL_START], self.seed
            ),
        )

    def submissions_body(self, p: Profile) -> Body | None:
        if not p.cik:
            return None
        return self.real(p, "subs") or self._generated(
            ("subs", p.key), p, f"subs-{p.cik}", lambda: submissions.document(p, *self.parts(p))
        )

    def page_body(self, p: Profile, name: str) -> Body | None:
        rel = FIXTURE_FILES.get(p.cik, {}).get("pages", {}).get(name)
        if rel:
            return self.big.get(("real", rel), lambda: _read(rel))
        for page_name, rows in self.parts(p)[1]:
            if page_name == name:
                return self._generated(
                    ("page", name), p, f"page-{name}", lambda rows=rows: submissions.page(p, rows)
                )
        return None

    def fundamentals(self, p: Profile) -> dict:
        def build():
            real = self.real_facts_json(p)
            if real is not None:
                return fundamentals.from_facts(real)
            return fundamentals.from_model(p, self.series(p), self.as_of)

        return self.derived.get(("fund", p.key), build)

    def document(self, cik: str, accn: str, name: str):
        """(body, filing date) of a primary document, or None when the company has no such
        filing."""
        p = self.by_cik.get(int(cik)) if cik.isdigit() else None
        if p is None:
            return None
        match = next((f for f in self.filings(p) if f.accn_nodash == accn and f.doc == name), None)
        if match is None:
            return None
        rel = DOC_FIXTURES.get((cik, accn, name))
        if rel:
            return self.big.get(("real", rel), lambda: _read(rel)), match.filed
        if match.periodic and match.form.split("/")[0] in ("10-K", "10-Q", "20-F"):
            revenue = None
            if self.real(p, "facts") is None and match.q is not None:
                span = 4 if match.form != "10-Q" else 1
                revenue = self.series(p).duration("revenue", match.q - span + 1, match.q)
            return self._generated(
                ("doc", p.cik, accn),
                p,
                f"doc-{p.cik}-{accn}",
                lambda: documents.periodic(p, match, revenue),
            ), match.filed
        return Body(documents.other(p, match)), match.filed

    # ---- across companies --------------------------------------------------------------------
    def daily_index(self, day: dt.date) -> Body | None:
        if day in INDEX_FIXTURES:
            return self.big.get(("real", INDEX_FIXTURES[day]), lambda: _read(INDEX_FIXTURES[day]))
        if not self.publishes_index(day):
            return None
        if self.disk is not None and (self.as_of - day).days < RECENT_INDEX_DAYS:
            rows = self.recent_index().get(day.isoformat(), [])
        else:
            rows = self.full_index().get(day, [])
        return self.big.get(("idx", day), lambda: Body(documents.daily_index(day, rows)))

    def publishes_index(self, day: dt.date) -> bool:
        """Whether SEC's daily index of `day` exists (by the as-of date's evening)."""
        if day in INDEX_FIXTURES:
            return True
        return day <= self.as_of and is_business_day(day) and day not in self.sec_closed

    def full_index(self) -> dict:
        """filing date -> [(form, name, cik, accession)] over every company: a walk of all
        filings."""
        with self._lock:
            if self._index is None:
                index = {}
                for p in self.profiles:
                    if p.cik:
                        for f in self.filings(p):
                            index.setdefault(f.filed, []).append(
                                (f.form, p.name.upper(), p.cik, f.accn)
                            )
                self._index = index
        return self._index

    def index_rows(self, p: Profile) -> list:
        """p's rows of the daily indexes near as-of: [day, form, name, cik, accession]."""
        cutoff = self.as_of - dt.timedelta(days=RECENT_INDEX_DAYS)
        return (
            [
                [f.filed.isoformat(), f.form, p.name.upper(), p.cik, f.accn]
                for f in self.filings(p)
                if f.filed > cutoff
            ]
            if p.cik
            else []
        )

    def recent_index(self) -> dict:
        """iso day -> rows for the last RECENT_INDEX_DAYS days, from the disk cache or built once
        into it."""
        with self._lock:
            if self._recent is None:
                rows = self.disk.load_json(self.index_name)
                if rows is None:
                    rows = [r for p in self.profiles for r in self.index_rows(p)]
                    self.store_recent_index(rows)
                self._recent = {}
                for day, *row in rows:
                    self._recent.setdefault(day, []).append(tuple(row))
        return self._recent

    def store_recent_index(self, rows: list) -> None:
        self.disk.write_bytes(
            self.index_name, json.dumps(sorted(rows), separators=(",", ":")).encode()
        )

    def companyfacts_zip(self) -> Body:
        """SEC's nightly companyfacts.zip of the served companies: one CIK##########.json per
        company with a CIK, the same bytes as its companyfacts answer; built once."""

        def build() -> bytes:
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
                for p in self.profiles:
                    body = self.facts_body(p) if p.cik else None
                    if body is not None:
                        archive.writestr(f"CIK{p.cik:010d}.json", body.raw)
                # SEC's is as big for every company as it has: the entities beyond ours
                # (most without facts) stand in one incompressible member of no company's CIK
                short = ARCHIVE_BYTES_PER_COMPANY * len(self.profiles) - out.tell()
                if short > 0:
                    block = random.Random(f"{self.seed}/archive").randbytes(FILLER_BLOCK)
                    info = zipfile.ZipInfo("CIK0000000000.json", (2026, 1, 1, 0, 0, 0))
                    with archive.open(info, "w", force_zip64=True) as member:
                        for start in range(0, short, FILLER_BLOCK):  # one int holds < 256 MB
                            member.write(block[: short - start])
            return out.getvalue()

        return self.static("companyfacts.zip", build)

    def static(self, name: str, build) -> Body:
        with self._lock:
            if name not in self._static:
                self._static[name] = Body(build())
            return self._static[name]
