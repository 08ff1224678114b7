"""The usage page (CHAT_ADMINS only): `app.py` registers it for admins alone."""

from chatpage.views.pages import usage

usage.show()
