"""What the page shows instead of the chat when it cannot go on: a setting, the gate, the database.

Each of these ends the run with `st.stop()`, so nothing after it is drawn: a person sees one
clear reason they can act on, never a traceback, and the audit log notes the refusal.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from chatpage import session
from chatpage.access.connection import Refusal, host_name
from chatpage.access.identity import network_address
from chatpage.i18n import t
from chatpage.settings import Settings


def stop_for_problems(problems: tuple[str, ...], lang: str) -> None:
    """A misconfigured page says what to fix, and does nothing else."""
    st.error(t(lang, "config_problems"), icon=":material/settings_alert:")
    st.markdown("\n".join(f"- {problem}" for problem in problems))
    st.stop()


def stop_for_database(lang: str) -> None:
    """The store cannot be opened: say so plainly (the next visit tries again)."""
    st.error(t(lang, "database_down"), icon=":material/database:")
    st.stop()


def stop_at_gate(settings: Settings, lang: str) -> None:
    """The only thing shown to someone not (yet) allowed in: sign in, or a refusal."""
    session.refused_at_gate(
        settings.access, network_address(st.context.ip_address, st.context.headers)
    )
    if settings.access == "login":
        st.title(t(lang, "page_title"))
        st.write(t(lang, "sign_in_prompt"))
        for provider in settings.login_providers:  # `[auth]`'s own client, then the named
            named = provider != "default"
            st.button(
                t(lang, "sign_in_with", provider=provider) if named else t(lang, "sign_in"),
                type="primary",
                icon=":material/login:",
                on_click=st.login,
                args=(provider,) if named else (),
                key=f"sign_in_{provider}",
            )
    elif settings.access == "local":
        st.title(t(lang, "local_only_title"))
        st.markdown(t(lang, "local_only_body"))
    else:
        st.error(t(lang, "refused"), icon=":material/lock:")
    st.stop()


def stop_at_boundary(
    settings: Settings, refused: Refusal, lang: str, headers: Mapping[str, str]
) -> None:
    """The page for a connection refused before any identity (chatpage/access/connection.py)."""
    host = None
    if refused == "foreign_host":
        given = next((str(v) for k, v in headers.items() if k.lower() == "host"), "")
        host = host_name(given) or "(not a host name)"
    session.refused_at_gate(
        settings.access,
        network_address(st.context.ip_address, st.context.headers),
        kind=refused,
        host=host,
    )
    if refused == "foreign_host":
        st.title(t(lang, "refused_host_title"))
        st.markdown(t(lang, "refused_host_body"))
    else:
        st.error(t(lang, "refused_proxy"), icon=":material/lock:")
    st.stop()
