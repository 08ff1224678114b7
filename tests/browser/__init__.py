"""The page driven in real headless Chromium: `streamlit run app.py` against a real emulator."""
