"""Where a reply is written (a task of the app process) and followed (on the page, other tabs)."""
