"""The periodic reports the job reads: the one list that the daily-index scan, the filings list
and the XBRL facts all go by, so a company is never seen filing a report whose rows are then
skipped. Amendments (`10-K/A`) count as their form; `10-KT`/`10-QT` are transition reports,
filed when a company changes its fiscal year."""

PERIODIC_FORMS = frozenset({"10-K", "10-Q", "20-F", "40-F", "10-KT", "10-QT"})
QUARTERLY_FORMS = frozenset({"10-Q", "10-QT"})
ANNUAL_FORMS = PERIODIC_FORMS - QUARTERLY_FORMS
SECTION_FORMS = ("10-K", "10-Q")  # whose business, risk, MD&A and market-risk text is kept
