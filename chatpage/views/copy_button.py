"""Copy a reply in one click, as every chat page offers.

Streamlit has no clipboard button of its own (a code block has one, a reply does not), so this
is a small inline component (`st.components.v2`: no iframe, nothing fetched). The reply's
markdown travels as the component's data and goes to the clipboard as text: it is never put
into the page as HTML. Where the clipboard API is refused (a page served over plain HTTP to
another machine), the browser's older copy command does it.
"""

from __future__ import annotations

import hashlib

import streamlit as st

_HTML = '<button type="button" class="copy"></button>'
_CSS = """
.copy {
  font: inherit; font-size: 0.875rem; color: var(--st-text-color); opacity: 0.7;
  background: none; border: none; padding: 0.1rem 0.3rem; cursor: pointer; border-radius: 0.3rem;
}
.copy:hover { opacity: 1; background: var(--st-secondary-background-color); }
"""
_JS = """
export default function (component) {
  const { data, parentElement } = component;
  const button = parentElement.querySelector("button.copy");
  button.textContent = data.label;
  button.title = data.label;
  button.setAttribute("aria-label", data.label);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(data.text);
    } catch (refused) {
      const area = document.createElement("textarea");
      area.value = data.text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = data.done;
    setTimeout(() => { button.textContent = data.label; }, 1500);
  };
  button.onclick = copy;
  if (!data.shortcut) return;
  // Ctrl+Shift+C (⌘⇧C): the last reply's button copies it from anywhere on the page.
  const onKey = (event) => {
    if (!(event.ctrlKey || event.metaKey) || !event.shiftKey || event.altKey) return;
    if (event.key.toLowerCase() !== "c" || !button.isConnected) return;
    event.preventDefault();
    copy();
  };
  document.addEventListener("keydown", onKey, true);
  return () => document.removeEventListener("keydown", onKey, true);
}
"""

_mount = st.components.v2.component("liaobots_chat.copy", html=_HTML, css=_CSS, js=_JS)


def copy_button(text: str, *, key: str, label: str, done: str, shortcut: bool = False) -> None:
    """A button that puts `text` on the clipboard; it says `done` for a moment after. With
    `shortcut` (the last reply's), Ctrl+Shift+C (⌘⇧C) presses it (views/shortcuts.py).

    Streamlit refuses a component key holding "__" (its own delimiter), which a random id
    may hold: the key is hashed into one that never does.
    """
    safe = "copy-" + hashlib.blake2s(key.encode(), digest_size=12).hexdigest()
    _mount(data={"text": text, "label": label, "done": done, "shortcut": shortcut}, key=safe)
