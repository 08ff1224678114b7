"""The page's drawing: sidebar, messages, the chat fragment, the shared view, the usage page."""
