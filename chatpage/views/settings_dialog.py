"""The Settings dialog: language and connection (offline demo, auth code, guest sign-in);
and the same way in, in an empty chat, for a visitor who has none.

Opened from the sidebar's gear, so the sidebar is the conversations. The dialog reruns on its
own (it is a fragment), but what it changes (the language, the service) is the whole page's:
a change marks the page to be redrawn, and the dialog stays open across that redraw until
the person closes it.

A first visitor with no code (none configured, none pasted, no guest session) sees the way
in in the chat itself (`way_in`), not behind the sidebar's `»`: continue as a guest, paste a
code, or try the offline demo.

A pasted code is moved out of its field as soon as it is entered and kept in the session
only: the field is emptied, so the code is never sent back to the browser.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from chatpage.backend import (
    CODE_INPUT,
    DEMO_TOGGLE,
    Backend,
    ServiceInfo,
    continue_as_guest,
    end_guest_session,
    forget_service_info,
)
from chatpage.data.failures import describe, explain
from chatpage.i18n import LANGUAGES, t
from chatpage.settings import Settings

SETTINGS_OPEN = "settings_open"
_REDRAW = "settings_changed"  # a choice of the whole page's was made: redraw it
CODE_TYPED = "auth_code_typed"  # the dialog's code field; emptied once read
_WELCOME_CODE = "welcome_code"  # the empty chat's code field; emptied once read


def open_settings() -> None:
    st.session_state[SETTINGS_OPEN] = True


def close_settings() -> None:
    st.session_state.pop(SETTINGS_OPEN, None)


def changed(action: Callable[[], None] | None = None) -> Callable[[], None]:
    """A widget's callback that does `action` and has the whole page redrawn."""

    def callback() -> None:
        if action is not None:
            action()
        st.session_state[_REDRAW] = True

    return callback


def redraw_if_changed() -> None:
    """Called inside a fragment (the dialog, the welcome): redraw the page after a change."""
    if st.session_state.pop(_REDRAW, False):
        st.rerun(scope="app")


def take_code(field: str) -> Callable[[], None]:
    """A code field's callback: the code goes to the session; the field is emptied."""

    def callback() -> None:
        typed = str(st.session_state.get(field) or "").strip()
        st.session_state[field] = ""
        if typed:
            st.session_state[CODE_INPUT] = typed
            forget_service_info()
            st.session_state[_REDRAW] = True

    return callback


def forget_code() -> None:
    st.session_state.pop(CODE_INPUT, None)
    forget_service_info()
    st.session_state[_REDRAW] = True


def pasted_code() -> bool:
    return bool(st.session_state.get(CODE_INPUT))


def gear(lang: str) -> None:
    """The sidebar's one way into the settings."""
    st.button(
        "",
        key="settings_gear",
        icon=":material/settings:",
        help=t(lang, "settings"),
        on_click=open_settings,
    )


def show_if_open(settings: Settings, backend: Backend, info: ServiceInfo, lang: str) -> None:
    if st.session_state.get(SETTINGS_OPEN):
        _dialog(t(lang, "settings"), settings, backend, info, lang)


def _dialog(title: str, settings: Settings, backend: Backend, info: ServiceInfo, lang: str) -> None:
    @st.dialog(title, icon=":material/settings:", on_dismiss=close_settings)
    def dialog() -> None:
        redraw_if_changed()
        _contents(settings, backend, info, lang)

    dialog()


def _contents(settings: Settings, backend: Backend, info: ServiceInfo, lang: str) -> None:
    st.selectbox(
        t(lang, "language"),
        options=list(LANGUAGES),
        format_func=LANGUAGES.get,
        key="lang",
        persist_state="session",  # kept while the dialog is closed, and on the usage page
        on_change=changed(),
    )
    st.subheader(t(lang, "sidebar_connection"))
    st.toggle(
        t(lang, "use_demo"),
        value=settings.offline_demo,
        key=DEMO_TOGGLE,
        on_change=changed(forget_service_info),
        persist_state="session",
    )
    if settings.public_demo:  # the operator's code: nothing to see, nothing to change
        demo = settings.demo
        st.caption(
            t(
                lang,
                "public_demo_note",
                per_minute=demo.per_minute,
                per_day=demo.per_day,
                hours=f"{demo.retention_hours:g}",
            )
        )
    elif not backend.demo:
        code_field(settings, lang, CODE_TYPED)
        if pasted_code():
            st.caption(":material/key: " + t(lang, "auth_code_pasted"))
            st.button(
                t(lang, "forget_code"),
                key="forget_code",
                icon=":material/key_off:",
                type="tertiary",
                on_click=forget_code,
            )
        elif settings.has_server_code:
            st.caption(t(lang, "auth_code_from_server"))
    status(backend, info, lang)
    _guest_controls(settings, backend, lang)


def code_field(settings: Settings, lang: str, key: str) -> None:
    """Where a code is pasted; what is typed is taken at once (`take_code`), never shown."""
    st.text_input(
        t(lang, "auth_code"),
        type="password",
        key=key,
        help=t(lang, "auth_code_help"),
        placeholder=t(lang, "auth_code_override")
        if settings.has_server_code or pasted_code()
        else "",
        on_change=take_code(key),
    )


def status(backend: Backend, info: ServiceInfo, lang: str) -> None:
    """One line on the service in use (the sidebar shows it too, under the gear)."""
    if backend.demo:
        st.caption(":material/science: " + t(lang, "status_demo"))
    elif backend.guest:
        _guest_status(info, lang)
    elif not backend.auth_code:
        st.caption(":material/key: " + t(lang, "status_no_code"))
    elif info.account_error is not None:
        _, text = explain(describe(info.account_error), lang)
        st.caption(":material/error: " + t(lang, "status_checking_failed", error=text))
    elif info.balance is not None:
        st.caption(":material/check_circle: " + t(lang, "status_connected", balance=info.balance))
    else:
        st.caption(":material/check_circle: " + t(lang, "status_connected_no_balance"))


def _guest_status(info: ServiceInfo, lang: str) -> None:
    if info.account_error is not None:
        _, text = explain(describe(info.account_error), lang)
        st.caption(":material/error: " + t(lang, "status_checking_failed", error=text))
    elif info.guest_not_signed_in:
        st.caption(":material/person: " + t(lang, "status_guest_at_first_message"))
    elif info.balance is not None:
        st.caption(":material/person: " + t(lang, "status_guest", balance=info.balance))
    else:
        st.caption(":material/person: " + t(lang, "status_guest_no_balance"))


def _guest_controls(settings: Settings, backend: Backend, lang: str) -> None:
    """With no code in use, one click signs this browser session in as a guest."""
    if backend.demo:
        return
    if backend.guest:
        if not settings.guest:  # a page run on guests has nothing to go back to
            st.button(
                t(lang, "end_guest"),
                key="end_guest",
                icon=":material/logout:",
                type="tertiary",
                on_click=changed(end_guest_session),
            )
    elif not backend.auth_code:
        guest_button(lang, key="continue_as_guest_settings")


def guest_button(lang: str, *, key: str) -> None:
    st.button(
        t(lang, "continue_as_guest"),
        key=key,
        icon=":material/person:",
        type="primary",
        help=t(lang, "guest_help"),
        on_click=changed(continue_as_guest),
    )


def way_in(settings: Settings, backend: Backend, lang: str) -> bool:
    """In an empty chat (drawn by the chat fragment): the way in, when there is none yet."""
    redraw_if_changed()  # a way in was taken here: the whole page follows
    if backend.demo or backend.guest or backend.auth_code or settings.public_demo:
        return False
    st.info(t(lang, "auth_code_missing"), icon=":material/key:")
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        guest_button(lang, key="continue_as_guest")
        st.button(
            t(lang, "try_demo"),
            key="try_demo",
            icon=":material/science:",
            help=t(lang, "use_demo"),
            on_click=changed(_use_demo),
        )
    code_field(settings, lang, _WELCOME_CODE)
    return True


def _use_demo() -> None:
    st.session_state[DEMO_TOGGLE] = True
    forget_service_info()
