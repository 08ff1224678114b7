"""Pages other than the chat: a shared conversation and the usage page."""
