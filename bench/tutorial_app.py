"""Streamlit's LLM chat tutorial on the Liaobots client: the baseline `bench/ws_bytes.py` measures.

Every piece of text goes to `st.write_stream` the moment it arrives, as the tutorial does; no
joining in time and no cutting into blocks, so each piece re-sends the whole reply so far.
Reads LIAOBOTS_AUTH_CODE and LIAOBOTS_BASE_URL from the environment, like the page.
"""

from __future__ import annotations

import streamlit as st

from liaobots_core import LiaobotsClient

st.title("Tutorial chat")


@st.cache_resource
def client() -> LiaobotsClient:
    return LiaobotsClient()


if "messages" not in st.session_state:
    st.session_state.messages = []

for message in st.session_state.messages:
    with st.chat_message(message["role"]):
        st.markdown(message["content"])

if prompt := st.chat_input("What is up?"):
    st.session_state.messages.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(prompt)
    with st.chat_message("assistant"):
        response = st.write_stream(client().stream_chat(st.session_state.messages))
    st.session_state.messages.append({"role": "assistant", "content": response})
