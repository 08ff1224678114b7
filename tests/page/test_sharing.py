"""Sharing a conversation through the page: share, open the link, copy it, stop sharing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from chatpage.access.identity import LOCAL_OWNER
from chatpage.data.conversation import Attachment, Conversation, Message
from chatpage.database.conversations import ConversationStore
from liaobots_core.emulator import Behavior, Emulator
from testkit.apptest import bubbles, fresh_session, listed, open_menu, page_text, send

pytestmark = pytest.mark.usefixtures("own_database", "configured")

NOT_FOUND = (
    "This shared conversation was not found. The link may have been stopped, or it is wrong."
)
MARKDOWN_REPLY = "Use **bold** and `code`\n\n- one\n- two"


def shared_link(at: AppTest) -> str:
    """The link the open menu shows (AppTest has no page URL: it is relative, `?share=`)."""
    links = [c.value for c in at.sidebar.code if c.value.startswith("?share=")]
    assert links, "no shared link shown"
    return links[0]


def share(at: AppTest, conversation_id: str) -> str:
    open_menu(at, conversation_id)
    at.sidebar.button(key=f"share_{conversation_id}").click().run()
    assert not at.exception, at.exception
    return shared_link(at).removeprefix("?share=")


def test_a_shared_link_shows_the_conversation_read_only(configured: Emulator) -> None:
    configured.default = Behavior(reply=MARKDOWN_REPLY)
    owner = send(fresh_session(), "How do I format text?")
    token = share(owner, owner.query_params["c"])

    reader = fresh_session(share=token)
    assert bubbles(reader) == [("user", "How do I format text?"), ("assistant", MARKDOWN_REPLY)]
    assert not reader.chat_input  # read-only: no input
    assert [b.key for b in reader.button] == ["continue_in_own", "back_to_chats"]  # no Edit …
    assert any("read-only snapshot" in c.value for c in reader.caption)
    assert reader.title[0].value == "How do I format text?"


def test_the_shared_view_is_the_snapshot_not_what_came_later(configured: Emulator) -> None:
    owner = send(fresh_session(), "First question")
    token = share(owner, owner.query_params["c"])
    send(owner, "A later question")
    reader = fresh_session(share=token)
    assert bubbles(reader)[0] == ("user", "First question")
    assert "A later question" not in page_text(reader)


def test_stop_sharing_makes_the_link_say_not_found_like_an_unknown_one(
    own_database: str,
) -> None:
    owner = send(fresh_session(), "Soon private again")
    conversation_id = owner.query_params["c"]
    token = share(owner, conversation_id)
    owner.sidebar.button(key=f"unshare_{conversation_id}").click().run()
    assert owner.sidebar.button(key=f"share_{conversation_id}")  # can be shared again
    revoked = fresh_session(share=token)
    unknown = fresh_session(share="Z" * 32)
    for reader in (revoked, unknown):
        assert [w.value for w in reader.warning] == [NOT_FOUND]
        assert bubbles(reader) == []
        assert "Soon private again" not in page_text(reader)


def test_continue_in_my_own_chat_copies_the_snapshot_and_opens_it(
    configured: Emulator, own_database: str
) -> None:
    configured.default = Behavior(reply="The original answer")
    owner = send(fresh_session(), "Shared question")
    original_id = owner.query_params["c"]
    token = share(owner, original_id)

    reader = fresh_session(share=token)
    reader.button(key="continue_in_own").click().run()
    assert not reader.exception, reader.exception
    assert "share" not in reader.query_params
    copy_id = reader.query_params["c"]
    assert copy_id != original_id
    assert bubbles(reader) == [("user", "Shared question"), ("assistant", "The original answer")]
    assert reader.chat_input  # the copy is a chat of one's own: it can go on
    configured.default = Behavior(reply="Going on")
    send(reader, "And then?")

    store = ConversationStore(own_database)
    original = store.load(original_id, LOCAL_OWNER)
    copy = store.load(copy_id, LOCAL_OWNER)
    assert original is not None
    assert copy is not None
    assert [m.text for m in original.messages] == ["Shared question", "The original answer"]
    assert [m.text for m in copy.messages][-2:] == ["And then?", "Going on"]
    assert not set(original.tree) & set(copy.tree)  # new ids throughout


def test_the_list_of_shared_links_stops_one_too(own_database: str) -> None:
    at = send(fresh_session(), "Listed share")
    conversation_id = at.query_params["c"]
    token = share(at, conversation_id)
    at = fresh_session()  # a later visit: the menu is closed, the list of links is there
    assert shared_link(at) == f"?share={token}"
    at.sidebar.button(key=f"unshare_listed_{conversation_id}").click().run()
    assert not [c for c in at.sidebar.code if c.value.startswith("?share=")]
    assert ConversationStore(own_database).shares.open(token) is None


def test_deleting_a_conversation_stops_its_link(own_database: str) -> None:
    at = send(fresh_session(), "Doomed and shared")
    conversation_id = at.query_params["c"]
    token = share(at, conversation_id)
    at.sidebar.button(key=f"delete_{conversation_id}").click().run()
    at.sidebar.button(key=f"really_delete_{conversation_id}").click().run()
    assert listed(at) == []
    assert ConversationStore(own_database).shares.open(token) is None


def test_the_public_demo_has_no_share_and_no_shared_view(
    monkeypatch: pytest.MonkeyPatch, own_database: str
) -> None:
    at = send(fresh_session(), "Local first, shared")
    token = share(at, at.query_params["c"])
    monkeypatch.setenv("CHAT_DEMO", "1")
    demo = send(fresh_session(), "A demo visitor's question")
    open_menu(demo, demo.query_params["c"])
    assert not [b for b in demo.sidebar.button if (b.key or "").startswith("share_")]
    assert not demo.sidebar.code
    reader = fresh_session(share=token)
    assert [i.value for i in reader.info] == ["Sharing is not available on this page."]
    assert bubbles(reader) == []
    assert "Local first" not in page_text(reader)


def test_go_to_my_chats_leaves_the_shared_view_for_the_chat() -> None:
    owner = send(fresh_session(), "Shared, then left")
    token = share(owner, owner.query_params["c"])
    reader = fresh_session(share=token)
    reader.button(key="back_to_chats").click().run()
    assert "share" not in reader.query_params
    assert reader.chat_input
    assert listed(reader) == ["Shared, then left"]  # the local user's own list


FILE_TEXT = "API_KEY = 'sk-not-for-readers'"


def stored_with_a_file(own_database: str) -> str:
    chat = Conversation(model_id="gpt-4")
    chat.add_user("Check my config", (Attachment("settings.py", len(FILE_TEXT), FILE_TEXT),))
    chat.append(Message("assistant", "Looks fine.", model_id="gpt-4"))
    store = ConversationStore(own_database)
    store.create(chat, LOCAL_OWNER)
    store.close()
    return chat.id


def continued_copy(token: str, own_database: str) -> Conversation:
    reader = fresh_session(share=token)
    assert any(":material/attach_file: settings" in m.value for m in reader.markdown)  # chip
    assert FILE_TEXT not in page_text(reader)  # the view never shows a file's text
    reader.button(key="continue_in_own").click().run()
    assert not reader.exception, reader.exception
    store = ConversationStore(own_database)
    copy = store.load(reader.query_params["c"], LOCAL_OWNER)
    store.close()
    assert copy is not None
    return copy


def test_a_link_shares_files_by_name_and_size_and_a_copy_gets_no_file_text(
    own_database: str,
) -> None:
    conversation_id = stored_with_a_file(own_database)
    owner = fresh_session(c=conversation_id)
    open_menu(owner, conversation_id)
    assert owner.sidebar.checkbox(key=f"share_files_{conversation_id}").value is False
    token = share(owner, conversation_id)
    (attachment,) = continued_copy(token, own_database).messages[0].attachments
    assert (attachment.name, attachment.size, attachment.text) == (
        "settings.py",
        len(FILE_TEXT),
        "",
    )


def test_a_link_shares_files_text_when_the_sharer_ticks_it(own_database: str) -> None:
    conversation_id = stored_with_a_file(own_database)
    owner = fresh_session(c=conversation_id)
    open_menu(owner, conversation_id)
    owner.sidebar.checkbox(key=f"share_files_{conversation_id}").check().run()
    token = share(owner, conversation_id)
    (attachment,) = continued_copy(token, own_database).messages[0].attachments
    assert attachment.text == FILE_TEXT
