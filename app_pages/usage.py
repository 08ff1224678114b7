"""The usage page (CHAT_ADMINS only): `app.py` registers it for admins alone."""

from chatpage.views import usage_page

usage_page.show()
