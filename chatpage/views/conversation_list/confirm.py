"""Delete, asked first: the first click asks, with a warning, and only a second click on the
red button deletes (a conversation or a project goes with all it holds)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def delete_asked_first(
    thing_id: str,
    *,
    asked: str,
    key: str,
    label: str,
    warning: str,
    on_delete: Callable[..., None],
    args: tuple[object, ...],
) -> None:
    """`asked`: the session's key that names the thing a person asked to delete."""
    if st.session_state.get(asked) != thing_id:
        st.button(
            label,
            key=key,
            icon=":material/delete:",
            on_click=st.session_state.__setitem__,
            args=(asked, thing_id),
        )
        return
    st.warning(warning)
    st.button(
        label,
        key=f"really_{key}",
        type="primary",
        icon=":material/delete_forever:",
        on_click=on_delete,
        args=args,
    )
