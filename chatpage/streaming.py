"""The tick a reply's text source yields in silence, so the page's script stays responsive.

Streamlit delivers a rerun by raising inside the script thread at its next Streamlit call,
which never comes while that thread waits for text. So the text source (`ReplyTask.follow`)
yields TICK after a moment of silence, and the page answers it with a cheap Streamlit call.
"""

from __future__ import annotations

TICK = None  # what a reply's text source yields when nothing new arrived for a moment
