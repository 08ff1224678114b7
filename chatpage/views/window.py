"""Which part of a long conversation is on show: the latest turns, and earlier ones on request.

A page run sends the browser every message it draws, and a full run draws them all again, so a
conversation of 1,000 messages cost its every full run seconds and megabytes. The page draws
the latest `WINDOW` messages of the branch on show; "Show earlier messages" at the top of them
adds `STEP` more, and the page then scrolls back to the message the person was reading, as
ChatGPT and Open WebUI do. A message the person asked for (a search hit, a version switched
to) is always drawn, however far back it is, and scrolled to when it was not drawn before.
What goes upstream and the exports hold every message: they do not read this.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from chatpage import session
from chatpage.data.conversation import Conversation, Message
from chatpage.i18n import t
from chatpage.journal import Journal
from chatpage.views.guard import guarded

# Messages drawn when a conversation opens: ten turns, a few screens. Each drawn message costs
# an opening about 1.5 KB and tens of milliseconds of a busy browser's time: with 30 drawn, a
# 1,000-message conversation opened in 1.47x the time of a 10-message one (the bar: 1.5x).
WINDOW = 20
STEP = 40  # messages each "Show earlier messages" adds: fewer clicks back through a long one
_SHOWN = "window_shown"  # (conversation id, how many of the latest messages are drawn)
_FOCUS = "window_focus"  # (conversation id, message id, scroll if drawn): draw it, scroll, once
_FIND = "window_find"  # (conversation id, search text): open at the message holding it

_SCROLL_JS = """
export default function (component) {
  const marker = component.parentElement;
  const scroll = () => marker.scrollIntoView({ block: "start" });
  scroll();
  requestAnimationFrame(() => requestAnimationFrame(scroll));
}
"""
# The place of the message to read: scrolled to when drawn (no iframe, nothing fetched).
_scroll_here = st.components.v2.component(
    "liaobots_chat.scroll_here", html="<span></span>", js=_SCROLL_JS, isolate_styles=False
)


@dataclass(frozen=True)
class Shown:
    """The part of the branch a run draws: from `first` on, scrolled to `focus` if any."""

    first: int  # index in the branch of the first message drawn
    focus: str | None  # the message to scroll to (drawn from `first` on)


def shown(conversation: Conversation, messages: list[Message]) -> Shown:
    """The window of `messages` (the branch on show) this run draws.

    The latest `WINDOW` messages, or as many as the person asked for, from the question of
    the first turn; widened back to a message asked for, which is then scrolled to (one
    already drawn only when asked: a version switched to stays where it was clicked).
    """
    count = _count(conversation.id)
    first = max(0, len(messages) - count)
    scroll_to = None
    asked = st.session_state.pop(_FOCUS, None)
    if asked is not None and asked[0] == conversation.id:
        _, wanted, always_scroll = asked
        at = next((i for i, m in enumerate(messages) if m.id == wanted), None)
        if at is not None and at < first:
            first, scroll_to = at, wanted
        elif at is not None and always_scroll:
            scroll_to = wanted
    if first > 0 and messages[first].role == "assistant":
        first -= 1  # a turn is shown whole: the reply with its question
    if first < len(messages) - count:
        st.session_state[_SHOWN] = (conversation.id, len(messages) - first)
    return Shown(first, scroll_to)


def show_earlier(conversation: Conversation, window: Shown, lang: str) -> None:
    """ "Show earlier messages" above the first drawn, when there are earlier ones."""
    if window.first == 0:
        return
    branch = conversation.messages
    st.button(
        t(lang, "show_earlier", count=window.first),
        key="show_earlier",
        icon=":material/expand_less:",
        type="tertiary",
        on_click=_earlier,
        args=(conversation.id, len(branch) - window.first + STEP, branch[window.first].id),
    )


def scroll_here(message_id: str) -> None:
    """Scroll the page so that what is drawn next (the message `message_id`) is at the top."""
    _scroll_here(data={"message": message_id}, key=f"scroll-{message_id}", height=0)


def focus(conversation_id: str, message_id: str, *, always_scroll: bool = True) -> None:
    """Draw this message on the next full run, however far back, and scroll to it: always, or
    only when it was not drawn already."""
    st.session_state[_FOCUS] = (conversation_id, message_id, always_scroll)


@guarded
def opened_from_search(conversation_id: str, query: str) -> None:
    """A search hit's callback: open its conversation at the message holding the words."""
    st.session_state[_FIND] = (conversation_id, query.strip().casefold())
    session.open_conversation(conversation_id)


def open_at_match(conversation: Conversation, journal: Journal) -> None:
    """When a search opened this conversation, show the message it found, once.

    On the branch on show, the latest message holding the words; else the newest anywhere,
    whose branch is then shown (as `‹ n / m ›` would). Found by its title alone: as it is.
    """
    query = _take_query(conversation.id)
    if not query:
        return
    branch = conversation.messages
    found = next((m for m in reversed(branch) if query in m.text.casefold()), None)
    if found is None:
        newest_first = sorted(conversation.tree.values(), key=lambda m: -m.created_at)
        found = next((m for m in newest_first if query in m.text.casefold()), None)
        if found is None:
            return
        conversation.switch_to(found.id)
        journal.show_branch(conversation)
    focus(conversation.id, found.id)


@guarded
def _earlier(conversation_id: str, count: int, reading: str) -> None:
    """Draw `count` of the latest messages, and come back to the one the person was at."""
    st.session_state[_SHOWN] = (conversation_id, count)
    focus(conversation_id, reading)


def _count(conversation_id: str) -> int:
    kept = st.session_state.get(_SHOWN)
    return kept[1] if kept is not None and kept[0] == conversation_id else WINDOW


def _take_query(conversation_id: str) -> str | None:
    """What a search looked for when it opened this conversation, once."""
    kept = st.session_state.pop(_FIND, None)
    return kept[1] if kept is not None and kept[0] == conversation_id else None
