"""Real parts to run the page against, for the tests, the benchmarks and the scripts alike.

A throw-away PostgreSQL server (`postgres`), `streamlit run` and `scripts/cluster` as
processes, Debian's Chromium driven through Playwright (`browser`), and Streamlit's websocket
protocol without a browser (`st_protocol`). Nothing here imports pytest.
"""

AUTH_CODE = "test-code-5f1c9a"  # the code every test's emulator accepts
