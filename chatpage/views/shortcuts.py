"""Keyboard shortcuts, the way people know them from ChatGPT: new chat, stop, regenerate,
search, copy the last reply; and the list of them in the sidebar.

Where a button does the thing, the button carries its shortcut (`st.button(shortcut=...)`):
Streamlit binds it, shows it on the button, reads Ctrl as ⌘ on macOS, and never fires a
shortcut without Ctrl/⌘/Alt while the focus is in a text field (its key filter, Streamlit
1.67). Every shortcut here carries Ctrl (⌘), so all work from the chat input too, and none
fires on letters a person types. Two have no button: focusing the search box (`search_keys`,
a small inline component) and copying the last reply (the clipboard is written in the key
press itself, by the last reply's copy button: `copy_button.py`).
"""

from __future__ import annotations

import streamlit as st

from chatpage.i18n import t

NEW_CHAT = "Ctrl+Shift+O"
STOP = "Ctrl+Shift+X"
REGENERATE = "Ctrl+Shift+E"  # Streamlit reserves R (the page's rerun)
SEARCH = "Ctrl+K"
COPY_LAST = "Ctrl+Shift+C"  # bound in the browser: Streamlit reserves C for buttons
SEARCH_KEY = "conversation_search"  # the sidebar search box (conversation_list/library.py)
# What each does, in the order the list shows them.
LISTED = (
    ("shortcut_new_chat", NEW_CHAT),
    ("shortcut_stop", STOP),
    ("shortcut_regenerate", REGENERATE),
    ("shortcut_search", SEARCH),
    ("shortcut_copy_last", COPY_LAST),
)

_JS = """
export default function (component) {
  const { data } = component;
  const onKey = (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.shiftKey || event.altKey) return;
    if (event.key.toLowerCase() !== "k") return;
    const box = document.querySelector(`.st-key-${data.key} input`);
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  };
  document.addEventListener("keydown", onKey, true);
  return () => document.removeEventListener("keydown", onKey, true);
}
"""

_mount = st.components.v2.component("liaobots_chat.search_keys", html="<span></span>", js=_JS)


def on_mac() -> bool:
    """Whether the browser says it runs on macOS, where Ctrl is ⌘ (as Streamlit shows it)."""
    agent = st.context.headers.get("User-Agent") or ""
    return "Macintosh" in agent or "Mac OS X" in agent


def keys_shown(shortcut: str, mac: bool) -> str:
    """A shortcut as the person presses it: `Ctrl + Shift + O`, or `⌘ + Shift + O` on a Mac."""
    keys = ["⌘" if mac and key == "Ctrl" else key for key in shortcut.split("+")]
    return " + ".join(keys)


def shortcut_list(lang: str) -> None:
    """The "Keyboard shortcuts" list, folded, in the sidebar; and Ctrl+K bound to search."""
    mac = on_mac()
    with st.expander(t(lang, "shortcuts_title"), icon=":material/keyboard:"):
        st.markdown(
            "\n".join(f"- {t(lang, what)}: `{keys_shown(keys, mac)}`" for what, keys in LISTED)
        )
    search_keys()


def search_keys() -> None:
    """Ctrl+K (⌘K) puts the cursor in the conversation search, from anywhere on the page."""
    _mount(data={"key": SEARCH_KEY}, key="search-keys")
