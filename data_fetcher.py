"""The fetch side of stock-refresh for scripts of your own: one stock's data from SEC EDGAR and
Yahoo, or many stocks' market data, as plain `StockData`, written nowhere.

The nightly job (batch_refresh.py) uses the same functions from `stock_refresh.fetch`; this
module is their stable name at the top of the project. With a config file such as the job's
(its limits, SEC contact and upstream override apply):

    from data_fetcher import Sources, fetch_market_data, fetch_stock_data
    from stock_refresh.config import load_config

    with Sources.from_config(load_config("batch_config.json")) as sources:
        aapl = fetch_stock_data("AAPL", sources)
        quotes = fetch_market_data(["MSFT", "GOOGL"], sources)
    print(aapl.profile["company_name"], aapl.metrics["price"], len(aapl.earnings))
    print({q.symbol: q.metrics["price"] for q in quotes})

`StockData` (stock_refresh/models.py) holds one dict per table row: `profile` -> `stocks`,
`metrics` -> `stock_metrics`, `earnings` -> `earnings_history`, `filings` -> `sec_filings`,
`sections` -> `filing_sections`.
"""

from stock_refresh.fetch import Sources, fetch_market_data, fetch_stock_data

__all__ = ["Sources", "fetch_market_data", "fetch_stock_data"]
