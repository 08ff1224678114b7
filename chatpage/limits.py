"""Every bound on what a person can put into the page, in one place."""

MESSAGE_MAX_CHARS = 100_000  # default; CHAT_MAX_MESSAGE_CHARS changes it
SYSTEM_PROMPT_MAX_CHARS = 20_000
TITLE_MAX_CHARS = 200
SEARCH_MAX_CHARS = 200
IMPORT_MAX_BYTES = 2 * 1024 * 1024
IMPORT_MAX_MESSAGES = 2000
