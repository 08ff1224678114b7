"""Plain data: the conversation tree, exports, attached files and how a reply failed."""
