"""Every word the page shows, in English and Russian, in one place.

`t(lang, key, **values)` formats a string; a missing Russian string falls back to English so
a new feature never shows a raw key.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES: Mapping[str, str] = {"en": "English", "ru": "Русский"}
DEFAULT_LANGUAGE = "en"

STRINGS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "page_title": "Liaobots Chat",
        "input_placeholder": "Type a message…",
        "sidebar_connection": "Connection",
        "auth_code": "Auth code",
        "auth_code_help": "Your Liaobots auth code. It stays on the server and is never shown again.",
        "auth_code_from_server": "Using the auth code configured on the server.",
        "auth_code_override": "Paste a code to use your own instead.",
        "auth_code_missing": "Paste your Liaobots auth code to start, continue as a guest, or try the offline demo.",
        "continue_as_guest": "Continue as guest",
        "guest_help": "Signs this browser tab in to the service as a guest: no code needed. The service decides what a guest may use.",
        "end_guest": "End guest session",
        "status_guest": "Guest session · balance {balance}",
        "status_guest_no_balance": "Guest session",
        "status_guest_at_first_message": "Guest session · you are signed in as a guest when you send your first message",
        "use_demo": "Offline demo (no model, no network)",
        "demo_banner": (
            "**Offline demo.** Replies come from a local emulator, not from a model; "
            "they only show how the page behaves."
        ),
        "status_connected": "Connected · balance {balance}",
        "status_connected_no_balance": "Connected",
        "status_checking_failed": "Not connected: {error}",
        "status_demo": "Demo backend running locally",
        "model": "Model",
        "models_from_catalog": "The service's model list is unavailable; showing the built-in list.",
        "system_prompt": "System prompt",
        "system_prompt_help": "Instructions the model follows for the whole conversation.",
        "new_chat": "New chat",
        "language": "Language",
        "download_md": "Markdown",
        "download_json": "JSON",
        "download_help": "Download this conversation",
        "empty_state": "Ask anything. Replies stream in as they are written.",
        "waiting": "Waiting for the reply…",
        "waiting_seconds": "Waiting for the reply… {seconds} s",
        "stop": "Stop",
        "continue": "Continue",
        "regenerate": "Regenerate",
        "retry": "Retry",
        "edit": "Edit",
        "save_and_send": "Save and send",
        "cancel": "Cancel",
        "edit_label": "Edit your message",
        "stopped_note": "Stopped. The text so far is kept.",
        "interrupted_note": "Interrupted: the page stopped while this reply was being written. The text saved so far is kept.",
        "trimmed_note": (
            "{count} older messages were left out of the request to fit the model's limit."
        ),
        "over_budget_note": "This message alone is longer than the model accepts; it may be refused.",
        "error_empty": "The message is empty. Type something to send.",
        "error_control_chars": "The message contained {count} control characters (such as NUL) that cannot be sent. Nothing was sent: the message is back in the box without them; check it and send it again.",
        "error_too_long": "The message is too long ({length} characters; the limit is {limit}). Nothing was sent: it is back in the box to shorten.",
        "error_question_too_long": "The question is too long ({length} characters; the limit is {limit}). Edit your last message to shorten it.",
        "error_busy_person": "You already have {limit} replies being written. Wait for one to finish, or stop one, then try again; nothing you typed is lost.",
        "error_busy_process": "The page is writing as many replies as it can right now ({limit}). Try again in a moment; nothing you typed is lost.",
        "writing_now": "A reply is being written",
        "unseen_reply": "A reply finished here while you were elsewhere",
        "unexpected_error": "Something went wrong on our side (reference {reference}). Your conversation and what you typed are kept; try again. If it happens again, give the reference to whoever runs this page.",
        "error_file_too_big": "A file is too big ({size}; files up to {limit} can be attached). Nothing was sent: your text is back in the box. Attach a smaller file (files cannot be put back in the box: attach them again).",
        "error_file_image": "Images cannot be sent: the models on this page read text only. Nothing was sent: your text is back in the box. Attach text, code, PDF or DOCX files again without the image.",
        "error_file_binary": "A file is not text (it holds binary data), so it cannot be sent. Text, code, PDF and DOCX files can. Nothing was sent: your text is back in the box; attach the files again.",
        "error_file_unreadable": "A file could not be read (it is damaged, protected by a password, or a scan with no text in it). Nothing was sent: your text is back in the box; attach the files again.",
        "error_file_count": "Too many files ({size}; at most {limit} on one message). Nothing was sent: your text is back in the box; attach the files again.",
        "error_file_too_slow": "A file took too long to read (over {limit} s), so it was not sent. Nothing was sent: your text is back in the box. Attach a smaller file, or paste the part you need.",
        "error_file_too_big_inside": "A file needs too much memory to read (over {limit}), so it was not sent. Nothing was sent: your text is back in the box. Attach a smaller file, or paste the part you need.",
        "error_file_too_many_pages": "A PDF has too many pages ({size}; at most {limit}). Nothing was sent: your text is back in the box. Attach only the pages you need.",
        "error_file_unpacks_too_big": "A document unpacks to far more than its own size ({size}; at most {limit} for this file), as a zip bomb does, so it was not read. Nothing was sent: your text is back in the box.",
        "error_file_text_too_long": "The text of a file is longer than a message may be (more than {limit} characters), so reading it stopped there. Nothing was sent: your text is back in the box. Attach a shorter file, or paste the part you need.",
        "error_file_reading_busy": "The page is reading as many files as it can right now ({limit}). Nothing was sent: your text is back in the box; attach the files again in a moment.",
        "reading_files": "Reading the attached files…",
        "error_files_too_long": "The message with its files is too long ({length} characters; the limit is {limit}). Nothing was sent: your text is back in the box; attach smaller files again.",
        "attachment_chip": "{name} · {size}",
        "error_conversation_deleted": "This conversation was deleted in another window, so nothing was sent. Your message is back in the box: start a new chat to send it.",
        "deleted_elsewhere": "This conversation was deleted in another window. What you see is kept on this page only; start a new chat to go on.",
        "changed_elsewhere": "This conversation changed in another window. You see its latest state; your message was added after what you were looking at.",
        "being_written": "Being written in another window…",
        "previous_version": "Previous version",
        "next_version": "Next version",
        "version_of": "{index} / {count}",
        "error_demo_unavailable": "The demo cannot count messages right now (its database is unavailable), so nothing was sent. Retry in a moment.",
        "error_demo_turns": "This demo conversation has reached its limit of {limit} messages. Start a new chat to go on.",
        "error_demo_per_minute": "Demo limit: at most {limit} messages a minute. Wait {seconds} s, then retry.",
        "error_demo_per_day": "Demo limit: at most {limit} messages a day. Try again in {hours} h.",
        "error_limit_requests_day": "You have sent your {limit} messages for today. The limit resets at midnight UTC, in {wait}.",
        "error_limit_requests_month": "You have sent your {limit} messages for this month. The limit resets on the 1st (UTC), in {wait}.",
        "error_limit_chars_day": "Today's replies have reached your limit of {limit} characters. It resets at midnight UTC, in {wait}.",
        "error_limit_chars_month": "This month's replies have reached your limit of {limit} characters. It resets on the 1st (UTC), in {wait}.",
        "error_limits_unavailable": "Your usage cannot be counted right now (the database cannot be reached), so nothing was sent. Try again in a moment.",
        "wait_minutes": "{minutes} min",
        "wait_hours": "{hours} h {minutes} min",
        "wait_days": "{days} days",
        "error_missing_code": (
            "No auth code is set. Paste your Liaobots auth code in the sidebar, "
            "continue as a guest, or switch on the offline demo."
        ),
        "error_guest_refused": (
            "The service does not let guests in right now. Paste a Liaobots auth code in the "
            "sidebar, or switch on the offline demo."
        ),
        "error_auth": (
            "The auth code was rejected ({status}). Paste a new code in the sidebar "
            "or set LIAOBOTS_AUTH_CODE."
        ),
        "error_human_check": (
            "The service sent a web page instead of a reply: it wants a human check or the "
            "session has expired. Open the service in a browser once, or paste a fresh code."
        ),
        "error_balance": "The auth code has no balance left (402). Top it up or paste another code.",
        "error_rate_limit_wait": "The service is rate limiting requests (429). Wait {seconds} s and retry.",
        "error_rate_limit": "The service is rate limiting requests (429). Wait a moment and retry.",
        "error_upstream": (
            "The Liaobots service is failing ({status}). Try again in a minute; "
            "if it persists, the service may be down."
        ),
        "error_refused": (
            "The Liaobots service refused the request ({status}). "
            "Check the base URL and the model, then retry."
        ),
        "error_timeout": "The service went silent for {seconds} s. What arrived is kept; retry or continue.",
        "error_connection": (
            "Could not reach the service. Check the network and the base URL, then retry."
        ),
        "error_connection_cut": (
            "The connection broke in the middle of the reply. What arrived is kept; "
            "retry or continue."
        ),
        "error_protocol": (
            "The service sent a reply the page cannot read. Check the base URL points at a "
            "Liaobots API."
        ),
        "error_config": "The settings are not usable: {detail}",
        "error_unknown": "Something went wrong while getting the reply. What arrived is kept; retry.",
        "conversations": "Conversations",
        "search": "Search conversations",
        "search_placeholder": "Search titles and messages",
        "no_conversations": "No saved conversations yet.",
        "no_matches": "Nothing matches this search.",
        "more_actions": "Rename or delete",
        "rename": "Rename",
        "title_label": "Title",
        "delete": "Delete",
        "delete_really": "Delete “{title}”? This cannot be undone.",
        "deleted": "Conversation deleted.",
        "share": "Share",
        "share_help": "A read-only link to this conversation as it is now, for people signed in to this page.",
        "share_include_files": "Include the text of attached files",
        "share_include_files_help": "Unticked, the link shows each file's name and size only. Ticked, a reader who continues the conversation in their own chat gets the files' text too.",
        "share_show_name": "Show my name ({name})",
        "share_link_note": "Anyone signed in to this page can open this link and read the conversation as it was when you shared it. Copy it with the button on the right.",
        "stop_sharing": "Stop sharing",
        "sharing_stopped": "Sharing stopped: the link now says “not found”.",
        "share_empty": "Send a message first: there is nothing to share yet.",
        "shared_links": "Your shared links",
        "shared_not_found": "This shared conversation was not found. The link may have been stopped, or it is wrong.",
        "sharing_off": "Sharing is not available on this page.",
        "shared_by": "Shared by {name} on {date} · a read-only snapshot",
        "shared_by_someone": "Shared on {date} · a read-only snapshot",
        "continue_in_own": "Continue in my own chat",
        "continue_in_own_help": "Copies this conversation into your own list, where you can go on with it.",
        "back_to_chats": "Go to my chats",
        "shared_copied": "Copied “{title}” into your conversations.",
        "not_found": "That conversation was not found. It may have been deleted, or the link is wrong.",
        "import": "Import a JSON export",
        "import_help": "A file saved with the JSON download button. It opens as a new conversation.",
        "imported": "Imported “{title}”.",
        "import_too_large": "The file is too large to import (the limit is {limit} KB).",
        "import_not_json": "The file is not JSON text. Choose a file saved with the JSON download button.",
        "import_too_deep": "The file nests brackets more than {limit} levels deep, so it cannot be a conversation export; nothing was imported. Choose a file saved with the JSON download button.",
        "import_wrong_format": "The file is not a conversation export from this page.",
        "import_empty": "The file holds no messages; nothing was imported.",
        "import_too_many": "The file holds too many messages (the limit is {limit}).",
        "import_demo_count": "This demo imports at most {limit} conversations a day for one visitor; nothing was imported. Try again tomorrow — your conversations are kept.",
        "import_demo_bytes": "This demo imports at most {limit} of files a day for one visitor, and this file would pass it; nothing was imported. Try a smaller file, or again tomorrow.",
        "import_bad_message": "A message in the file is damaged (it needs a role and a text); nothing was imported.",
        "database_down": "The conversation database cannot be reached (DATABASE_URL), so the page cannot start. Reload in a moment; if it persists, the operator needs to check the database.",
        "storage_failed": "The conversation could not be saved; it is still here on the page. Check the database.",
        "saving_paused": "The database cannot be reached: this reply goes on here and is saved once it is back.",
        "sign_in_prompt": "Sign in to use the chat. Your conversations are private to you.",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "signed_in_as": "Signed in as {name}",
        "refused": "This page is only available through your team's sign-in. Open it from the team's address.",
        "refused_host_title": "This page does not answer to this address",
        "refused_host_body": (
            "It was opened under a host name it does not serve, as a web page that points its "
            "own name at this computer would. Open it at the address you were given "
            "(on this computer: `http://localhost:<port>/` or `http://127.0.0.1:<port>/`). "
            "Whoever runs it can list other names in `CHAT_ALLOWED_HOSTS`."
        ),
        "refused_proxy": (
            "This page accepts who you are only from your team's sign-in proxy, and this "
            "request did not come through it. Open the page from the team's address."
        ),
        "sign_in_with": "Sign in with {provider}",
        "config_problems": "The page is not configured correctly. The operator needs to fix:",
        "local_only_title": "This page is not open to other computers yet",
        "local_only_body": (
            "It runs without an access setting, so it only serves a visitor on its own machine: "
            "unconfigured, everyone would share one person's conversations and code. "
            "Whoever runs it chooses who may use it with `CHAT_ACCESS`:\n\n"
            "- `CHAT_ACCESS=header` and `CHAT_USER_HEADER`: a team page behind a sign-in proxy; "
            "each person sees only their own conversations.\n"
            "- `CHAT_ACCESS=login` and an `[auth]` section in `.streamlit/secrets.toml`: "
            "people sign in with your identity provider; each sees only their own.\n"
            "- `CHAT_DEMO=1`: a public demo with limits per visitor; each visitor's "
            "conversations are private to their tab.\n\n"
            "`CHAT_ACCESS=open` serves everyone who can reach the page as one person, sharing "
            "every conversation. The README's Deploy section explains each."
        ),
        "shared_page_note": "Everyone who can open this page shares these conversations.",
        "show_more": "Show more",
        "show_earlier": "Show earlier messages ({count} more)",
        "temperature": "Temperature",
        "conversation_settings": "Temperature and saved prompts",
        "saved_prompts": "Saved prompts",
        "use_prompt": "Use a saved prompt…",
        "save_prompt": "Save this prompt",
        "prompt_name": "Name",
        "prompt_saved": "Saved “{name}”.",
        "prompt_deleted": "Deleted “{name}”.",
        "prompt_nothing_to_save": "Write a system prompt first, then save it.",
        "prompt_needs_name": "Give the prompt a name.",
        "prompt_too_many": "You keep {limit} prompts already; delete one first.",
        "my_prompts": "Your saved prompts",
        "delete_prompt": "Delete “{name}”",
        "prompt_builtin_note": "built in",
        "prompt_translate_name": "Translate English ↔ Russian",
        "prompt_translate_text": "You are a translator. Translate the user's text from English into Russian, or from Russian into English, keeping its meaning, tone and formatting. Reply with the translation only.",
        "prompt_code_review_name": "Code review",
        "prompt_code_review_text": "You are a careful senior engineer reviewing code. Point out bugs, security problems and unclear parts first, then smaller improvements; quote the lines you mean and suggest concrete changes.",
        "prompt_summarise_name": "Summarise",
        "prompt_summarise_text": "Summarise the user's text in a few short bullet points: the main points, decisions and open questions. Keep names and figures exact; add nothing that is not in the text.",
        "reply_about": "{model} · {chars:,} characters",
        "copy": "Copy",
        "copied": "Copied",
        "temperature_default": "service default",
        "temperature_help": "Lower is more focused and repeatable, higher more varied. Kept with this conversation.",
        "group_pinned": "Pinned",
        "group_today": "Today",
        "group_yesterday": "Yesterday",
        "group_week": "Previous 7 days",
        "group_older": "Older",
        "group_archived": "Archived",
        "pin": "Pin",
        "unpin": "Unpin",
        "archive": "Archive",
        "restore": "Restore",
        "archived": "Archived: search still finds it, and the archive lists it.",
        "restored": "Back in the list.",
        "archived_note": "Archived",
        "archived_conversations": "Archived conversations",
        "archive_empty": "Nothing is archived.",
        "back_to_list": "Back to conversations",
        "public_demo_note": "Public demo: up to {per_minute} messages a minute and {per_day} a day. Conversations are private to this browser tab and deleted after {hours} h.",
        "export_title": "Conversation",
        "role_user": "You",
        "role_assistant": "Assistant",
        "status_stopped_label": "stopped",
        "status_failed_label": "failed",
        "error_balance_gone": "The service's balance is used up, so nothing can be sent; what you typed stays in the box. Ask whoever runs this page to top it up.",
        "low_balance": "The service's balance is {balance}, below LIAOBOTS_LOW_BALANCE ({limit}). Top it up before replies start failing.",
        "nav_chat": "Chat",
        "nav_usage": "Usage",
        "usage_title": "Usage",
        "usage_intro": "Requests sent to the service, per person and per day. Only sizes and outcomes are recorded, never the text. Days and times are UTC.",
        "usage_period": "Period",
        "usage_last_days": "Last {days} days",
        "usage_period_note": "{first} to {last} (UTC days)",
        "usage_requests": "Requests",
        "usage_reply_chars": "Reply characters",
        "usage_failures": "Failures",
        "usage_people": "People",
        "usage_balance": "Service balance",
        "usage_balance_unknown": "unknown",
        "usage_balance_demo": "The offline demo is in use: it has no balance.",
        "usage_balance_no_code": "No auth code is set on the server or in the sidebar.",
        "usage_balance_failed": "The service did not say: {error}",
        "usage_per_day": "Per day",
        "usage_answered": "Answered",
        "usage_day": "Day (UTC)",
        "usage_per_person": "Per person",
        "usage_person": "Person",
        "usage_chars_in": "Characters sent",
        "usage_chars_out": "Reply characters",
        "usage_last_active": "Last active (UTC)",
        "usage_errors": "Errors by kind",
        "usage_no_errors": "No request failed in this period.",
        "usage_kind": "Kind",
        "usage_what": "What went wrong",
        "usage_count": "Requests",
        "usage_last_seen": "Last (UTC)",
        "usage_nothing": "Nobody sent a request in this period.",
        "usage_csv": "Download the period's requests (CSV)",
        "usage_csv_help": "One row per request: when (UTC), who, model, characters in and out, how it ended. Never the text.",
        "usage_unavailable": "The usage records cannot be read right now (the database cannot be reached). Reload in a moment.",
        "kind_auth": "The auth code was rejected",
        "kind_human_check": "A human-check page instead of a reply",
        "kind_balance": "No balance left (402)",
        "kind_rate_limit": "Rate limited (429)",
        "kind_upstream": "The service was failing (5xx)",
        "kind_refused": "The service refused the request",
        "kind_timeout": "The service went silent",
        "kind_connection": "The service could not be reached",
        "kind_connection_cut": "The connection broke mid-reply",
        "kind_protocol": "An answer the page cannot read",
        "kind_config": "Unusable settings",
        "kind_missing_code": "No auth code",
        "kind_unknown": "Something unexpected",
        "usage_local_user": "local user",
        "usage_demo_visitor": "demo visitor {id}",
    },
    "ru": {
        "page_title": "Чат Liaobots",
        "input_placeholder": "Напишите сообщение…",
        "sidebar_connection": "Подключение",
        "auth_code": "Код доступа",
        "auth_code_help": "Ваш код доступа Liaobots. Он остаётся на сервере и больше не показывается.",
        "auth_code_from_server": "Используется код доступа, заданный на сервере.",
        "auth_code_override": "Вставьте код, чтобы использовать свой.",
        "auth_code_missing": "Вставьте код доступа Liaobots, продолжите как гость или попробуйте офлайн-демо.",
        "continue_as_guest": "Продолжить как гость",
        "guest_help": "Входит в сервис как гость из этой вкладки браузера: код не нужен. Что доступно гостю, решает сервис.",
        "end_guest": "Завершить гостевой сеанс",
        "status_guest": "Гостевой сеанс · баланс {balance}",
        "status_guest_no_balance": "Гостевой сеанс",
        "status_guest_at_first_message": "Гостевой сеанс · гостевой вход выполняется при отправке первого сообщения",
        "use_demo": "Офлайн-демо (без модели и сети)",
        "demo_banner": (
            "**Офлайн-демо.** Ответы приходят от локального эмулятора, а не от модели; "
            "они лишь показывают, как работает страница."
        ),
        "status_connected": "Подключено · баланс {balance}",
        "status_connected_no_balance": "Подключено",
        "status_checking_failed": "Нет подключения: {error}",
        "status_demo": "Демо-сервер работает локально",
        "model": "Модель",
        "models_from_catalog": "Список моделей сервиса недоступен; показан встроенный список.",
        "system_prompt": "Системный промпт",
        "system_prompt_help": "Указания, которым модель следует весь разговор.",
        "new_chat": "Новый чат",
        "language": "Язык",
        "download_md": "Markdown",
        "download_json": "JSON",
        "download_help": "Скачать этот разговор",
        "empty_state": "Спросите что угодно. Ответ появляется по мере написания.",
        "waiting": "Ждём ответ…",
        "waiting_seconds": "Ждём ответ… {seconds} с",
        "stop": "Стоп",
        "continue": "Продолжить",
        "regenerate": "Заново",
        "retry": "Повторить",
        "edit": "Изменить",
        "save_and_send": "Сохранить и отправить",
        "cancel": "Отмена",
        "edit_label": "Измените сообщение",
        "stopped_note": "Остановлено. Полученный текст сохранён.",
        "interrupted_note": "Прервано: страница остановилась, пока писался ответ. Сохранённый текст на месте.",
        "trimmed_note": (
            "Старые сообщения ({count}) не вошли в запрос, чтобы уложиться в лимит модели."
        ),
        "over_budget_note": "Это сообщение длиннее, чем принимает модель; его могут отклонить.",
        "error_empty": "Сообщение пустое. Напишите что-нибудь.",
        "error_control_chars": "В сообщении было {count} управляющих символов (например, NUL), их нельзя отправить. Ничего не отправлено: сообщение снова в поле ввода, уже без них; проверьте и отправьте снова.",
        "error_too_long": "Сообщение слишком длинное ({length} символов; предел {limit}). Ничего не отправлено: оно снова в поле ввода, сократите его.",
        "error_question_too_long": "Вопрос слишком длинный ({length} символов; предел {limit}). Измените последнее сообщение, чтобы сократить его.",
        "error_busy_person": "У вас уже пишется ответов: {limit}. Дождитесь окончания одного или остановите его и попробуйте снова; набранный текст не потерян.",
        "error_busy_process": "Страница сейчас пишет столько ответов, сколько может ({limit}). Попробуйте чуть позже; набранный текст не потерян.",
        "writing_now": "Сейчас пишется ответ",
        "unseen_reply": "Здесь закончился ответ, пока вас не было",
        "unexpected_error": "Что-то пошло не так на нашей стороне (код {reference}). Разговор и набранный текст сохранены; попробуйте ещё раз. Если ошибка повторится, сообщите код тому, кто поддерживает эту страницу.",
        "error_file_too_big": "Файл слишком большой ({size}; можно прикрепить файлы до {limit}). Ничего не отправлено: текст снова в поле ввода. Прикрепите файл поменьше (файлы нельзя вернуть в поле: прикрепите их снова).",
        "error_file_image": "Изображения отправить нельзя: модели на этой странице читают только текст. Ничего не отправлено: текст снова в поле ввода. Прикрепите текстовые файлы, код, PDF или DOCX снова, без изображения.",
        "error_file_binary": "Файл не текстовый (в нём двоичные данные), его нельзя отправить. Можно отправлять текст, код, PDF и DOCX. Ничего не отправлено: текст снова в поле ввода; прикрепите файлы снова.",
        "error_file_unreadable": "Файл не удалось прочитать (он повреждён, защищён паролем или это скан без текста). Ничего не отправлено: текст снова в поле ввода; прикрепите файлы снова.",
        "error_file_count": "Слишком много файлов ({size}; не больше {limit} в одном сообщении). Ничего не отправлено: текст снова в поле ввода; прикрепите файлы снова.",
        "error_file_too_slow": "Файл читался слишком долго (больше {limit} с), поэтому он не отправлен. Ничего не отправлено: текст снова в поле ввода. Прикрепите файл поменьше или вставьте нужную часть текстом.",
        "error_file_too_big_inside": "Для чтения файла нужно слишком много памяти (больше {limit}), поэтому он не отправлен. Ничего не отправлено: текст снова в поле ввода. Прикрепите файл поменьше или вставьте нужную часть текстом.",
        "error_file_too_many_pages": "В PDF слишком много страниц ({size}; не больше {limit}). Ничего не отправлено: текст снова в поле ввода. Прикрепите только нужные страницы.",
        "error_file_unpacks_too_big": "Документ распаковывается во много раз больше своего размера ({size}; для этого файла не больше {limit}), как zip-бомба, поэтому он не прочитан. Ничего не отправлено: текст снова в поле ввода.",
        "error_file_text_too_long": "Текст файла длиннее, чем может быть сообщение (больше {limit} символов), поэтому чтение остановлено. Ничего не отправлено: текст снова в поле ввода. Прикрепите файл покороче или вставьте нужную часть текстом.",
        "error_file_reading_busy": "Страница сейчас читает столько файлов, сколько может ({limit}). Ничего не отправлено: текст снова в поле ввода; прикрепите файлы снова чуть позже.",
        "reading_files": "Читаем прикреплённые файлы…",
        "error_files_too_long": "Сообщение с файлами слишком длинное ({length} символов; предел {limit}). Ничего не отправлено: текст снова в поле ввода; прикрепите файлы поменьше снова.",
        "attachment_chip": "{name} · {size}",
        "error_conversation_deleted": "Этот разговор удалён в другом окне, поэтому ничего не отправлено. Сообщение снова в поле ввода: начните новый чат, чтобы отправить его.",
        "deleted_elsewhere": "Этот разговор удалён в другом окне. То, что вы видите, осталось только на этой странице; начните новый чат, чтобы продолжить.",
        "changed_elsewhere": "Этот разговор изменился в другом окне. Показано его последнее состояние; ваше сообщение добавлено после того, что вы видели.",
        "being_written": "Пишется в другом окне…",
        "previous_version": "Предыдущая версия",
        "next_version": "Следующая версия",
        "version_of": "{index} / {count}",
        "error_demo_unavailable": "Демо сейчас не может считать сообщения (его база данных недоступна), поэтому ничего не отправлено. Повторите чуть позже.",
        "error_demo_turns": "Этот демо-разговор достиг предела в {limit} сообщений. Начните новый чат.",
        "error_demo_per_minute": "Ограничение демо: не больше {limit} сообщений в минуту. Подождите {seconds} с и повторите.",
        "error_demo_per_day": "Ограничение демо: не больше {limit} сообщений в день. Попробуйте через {hours} ч.",
        "error_limit_requests_day": "Вы отправили свои {limit} сообщений на сегодня. Ограничение сбрасывается в полночь UTC, через {wait}.",
        "error_limit_requests_month": "Вы отправили свои {limit} сообщений на этот месяц. Ограничение сбрасывается 1-го числа (UTC), через {wait}.",
        "error_limit_chars_day": "Ответы за сегодня достигли вашего предела в {limit} символов. Он сбрасывается в полночь UTC, через {wait}.",
        "error_limit_chars_month": "Ответы за этот месяц достигли вашего предела в {limit} символов. Он сбрасывается 1-го числа (UTC), через {wait}.",
        "error_limits_unavailable": "Сейчас нельзя посчитать ваше использование (база данных недоступна), поэтому ничего не отправлено. Попробуйте чуть позже.",
        "wait_minutes": "{minutes} мин",
        "wait_hours": "{hours} ч {minutes} мин",
        "wait_days": "{days} дн.",
        "error_missing_code": (
            "Код доступа не задан. Вставьте код Liaobots на боковой панели, "
            "продолжите как гость или включите офлайн-демо."
        ),
        "error_guest_refused": (
            "Сервис сейчас не пускает гостей. Вставьте код доступа Liaobots на боковой панели "
            "или включите офлайн-демо."
        ),
        "error_auth": (
            "Код доступа отклонён ({status}). Вставьте новый код на боковой панели "
            "или задайте LIAOBOTS_AUTH_CODE."
        ),
        "error_human_check": (
            "Сервис прислал веб-страницу вместо ответа: нужна проверка «я не робот» или сессия "
            "истекла. Откройте сервис в браузере или вставьте новый код."
        ),
        "error_balance": "На коде доступа закончился баланс (402). Пополните его или вставьте другой код.",
        "error_rate_limit_wait": "Сервис ограничивает частоту запросов (429). Подождите {seconds} с и повторите.",
        "error_rate_limit": "Сервис ограничивает частоту запросов (429). Подождите немного и повторите.",
        "error_upstream": (
            "Сервис Liaobots сбоит ({status}). Повторите через минуту; "
            "если не пройдёт, сервис может быть недоступен."
        ),
        "error_refused": (
            "Сервис Liaobots отклонил запрос ({status}). Проверьте адрес сервиса и модель."
        ),
        "error_timeout": "Сервис молчит уже {seconds} с. Полученный текст сохранён; повторите или продолжите.",
        "error_connection": "Не удалось связаться с сервисом. Проверьте сеть и адрес сервиса.",
        "error_connection_cut": (
            "Соединение оборвалось посреди ответа. Полученный текст сохранён; "
            "повторите или продолжите."
        ),
        "error_protocol": (
            "Сервис прислал ответ, который страница не может прочитать. Проверьте, что адрес "
            "указывает на API Liaobots."
        ),
        "error_config": "Настройки не подходят: {detail}",
        "error_unknown": "Что-то пошло не так при получении ответа. Полученное сохранено; повторите.",
        "conversations": "Разговоры",
        "search": "Поиск по разговорам",
        "search_placeholder": "Искать в названиях и сообщениях",
        "no_conversations": "Сохранённых разговоров пока нет.",
        "no_matches": "Ничего не найдено.",
        "more_actions": "Переименовать или удалить",
        "rename": "Переименовать",
        "title_label": "Название",
        "delete": "Удалить",
        "delete_really": "Удалить «{title}»? Это нельзя отменить.",
        "deleted": "Разговор удалён.",
        "share": "Поделиться",
        "share_help": "Ссылка только для чтения на разговор в нынешнем виде — для тех, кто вошёл на эту страницу.",
        "share_include_files": "Включить текст приложенных файлов",
        "share_include_files_help": "Без отметки ссылка показывает только имя и размер каждого файла. С отметкой тот, кто продолжит разговор в своём чате, получит и текст файлов.",
        "share_show_name": "Показать моё имя ({name})",
        "share_link_note": "Любой, кто вошёл на эту страницу, может открыть ссылку и прочитать разговор таким, каким он был в момент, когда вы им поделились. Скопируйте её кнопкой справа.",
        "stop_sharing": "Закрыть доступ",
        "sharing_stopped": "Доступ закрыт: по ссылке теперь «не найдено».",
        "share_empty": "Сначала отправьте сообщение: делиться пока нечем.",
        "shared_links": "Ваши ссылки",
        "shared_not_found": "Разговор по этой ссылке не найден. Возможно, доступ закрыт или ссылка неверна.",
        "sharing_off": "На этой странице делиться разговорами нельзя.",
        "shared_by": "Поделился {name}, {date} · снимок только для чтения",
        "shared_by_someone": "Поделились {date} · снимок только для чтения",
        "continue_in_own": "Продолжить в своём чате",
        "continue_in_own_help": "Копирует разговор в ваш список, где его можно продолжить.",
        "back_to_chats": "К моим разговорам",
        "shared_copied": "«{title}» скопирован в ваши разговоры.",
        "not_found": "Разговор не найден. Возможно, он удалён или ссылка неверна.",
        "import": "Импорт из JSON",
        "import_help": "Файл, сохранённый кнопкой «JSON». Откроется как новый разговор.",
        "imported": "Импортирован «{title}».",
        "import_too_large": "Файл слишком большой (предел {limit} КБ).",
        "import_not_json": "Это не JSON. Выберите файл, сохранённый кнопкой «JSON».",
        "import_too_deep": "В файле скобки вложены глубже {limit} уровней, так что это не экспорт разговора; ничего не импортировано. Выберите файл, сохранённый кнопкой «JSON».",
        "import_wrong_format": "Это не экспорт разговора с этой страницы.",
        "import_empty": "В файле нет сообщений; ничего не импортировано.",
        "import_too_many": "В файле слишком много сообщений (предел {limit}).",
        "import_demo_count": "Это демо импортирует не больше {limit} разговоров в день для одного посетителя; ничего не импортировано. Попробуйте завтра — ваши разговоры сохранены.",
        "import_demo_bytes": "Это демо импортирует не больше {limit} файлов в день для одного посетителя, и этот файл превысил бы предел; ничего не импортировано. Попробуйте файл поменьше или завтра.",
        "import_bad_message": "Сообщение в файле повреждено (нужны роль и текст); ничего не импортировано.",
        "database_down": "База данных разговоров недоступна (DATABASE_URL), страница не может запуститься. Обновите страницу через минуту; если не поможет, оператору нужно проверить базу.",
        "storage_failed": "Разговор не удалось сохранить; он по-прежнему на странице. Проверьте базу данных.",
        "saving_paused": "База данных недоступна: ответ продолжается здесь и будет сохранён, когда она вернётся.",
        "sign_in_prompt": "Войдите, чтобы пользоваться чатом. Ваши разговоры видны только вам.",
        "sign_in": "Войти",
        "sign_out": "Выйти",
        "signed_in_as": "Вы вошли как {name}",
        "refused": "Страница доступна только через вход вашей команды. Откройте её по адресу команды.",
        "refused_host_title": "Эта страница не отвечает по этому адресу",
        "refused_host_body": (
            "Её открыли под именем хоста, которое она не обслуживает, как сделала бы "
            "веб-страница, направившая своё имя на этот компьютер. Откройте её по адресу, "
            "который вам дали (на этом компьютере: `http://localhost:<порт>/` или "
            "`http://127.0.0.1:<порт>/`). Тот, кто её запустил, может перечислить другие имена "
            "в `CHAT_ALLOWED_HOSTS`."
        ),
        "refused_proxy": (
            "Эта страница узнаёт, кто вы, только от прокси входа вашей команды, а этот запрос "
            "пришёл не через него. Откройте страницу по адресу команды."
        ),
        "sign_in_with": "Войти через {provider}",
        "local_only_title": "Эта страница пока не открыта для других компьютеров",
        "local_only_body": (
            "Она запущена без настройки доступа и потому обслуживает только посетителя на своей "
            "машине: без настройки все делили бы разговоры и код одного человека. "
            "Тот, кто её запустил, выбирает, кому она доступна, через `CHAT_ACCESS`:\n\n"
            "- `CHAT_ACCESS=header` и `CHAT_USER_HEADER`: страница команды за прокси со входом; "
            "каждый видит только свои разговоры.\n"
            "- `CHAT_ACCESS=login` и раздел `[auth]` в `.streamlit/secrets.toml`: вход через "
            "ваш провайдер учётных записей; каждый видит только свои.\n"
            "- `CHAT_DEMO=1`: публичное демо с ограничениями на посетителя; разговоры каждого "
            "видны только в его вкладке.\n\n"
            "`CHAT_ACCESS=open` обслуживает всех, кто может открыть страницу, как одного "
            "человека с общими разговорами. Подробности — в разделе Deploy файла README."
        ),
        "shared_page_note": "Все, кто может открыть эту страницу, видят эти разговоры.",
        "show_more": "Показать ещё",
        "show_earlier": "Показать более ранние сообщения (ещё {count})",
        "temperature": "Температура",
        "conversation_settings": "Температура и сохранённые промпты",
        "saved_prompts": "Сохранённые промпты",
        "use_prompt": "Взять сохранённый промпт…",
        "save_prompt": "Сохранить этот промпт",
        "prompt_name": "Название",
        "prompt_saved": "Сохранено: «{name}».",
        "prompt_deleted": "Удалено: «{name}».",
        "prompt_nothing_to_save": "Сначала напишите системный промпт, потом сохраните его.",
        "prompt_needs_name": "Дайте промпту название.",
        "prompt_too_many": "У вас уже {limit} промптов; сначала удалите один.",
        "my_prompts": "Ваши сохранённые промпты",
        "delete_prompt": "Удалить «{name}»",
        "prompt_builtin_note": "встроенный",
        "prompt_translate_name": "Перевод английский ↔ русский",
        "prompt_translate_text": "Ты переводчик. Переведи текст пользователя с английского на русский или с русского на английский, сохраняя смысл, тон и форматирование. Отвечай только переводом.",
        "prompt_code_review_name": "Ревью кода",
        "prompt_code_review_text": "Ты внимательный опытный инженер, проверяющий код. Сначала укажи ошибки, проблемы безопасности и неясные места, затем мелкие улучшения; цитируй строки, о которых говоришь, и предлагай конкретные правки.",
        "prompt_summarise_name": "Краткое изложение",
        "prompt_summarise_text": "Кратко изложи текст пользователя в нескольких пунктах: главное, решения и открытые вопросы. Имена и цифры — точно; ничего не добавляй от себя.",
        "reply_about": "{model} · символов: {chars:,}",
        "copy": "Копировать",
        "copied": "Скопировано",
        "temperature_default": "по умолчанию",
        "temperature_help": "Ниже — точнее и предсказуемее, выше — разнообразнее. Хранится вместе с разговором.",
        "group_pinned": "Закреплённые",
        "group_today": "Сегодня",
        "group_yesterday": "Вчера",
        "group_week": "Последние 7 дней",
        "group_older": "Ранее",
        "group_archived": "Архив",
        "pin": "Закрепить",
        "unpin": "Открепить",
        "archive": "В архив",
        "restore": "Вернуть",
        "archived": "В архиве: поиск по-прежнему его находит, и он есть в архиве.",
        "restored": "Снова в списке.",
        "archived_note": "В архиве",
        "archived_conversations": "Архив разговоров",
        "archive_empty": "В архиве ничего нет.",
        "back_to_list": "К разговорам",
        "config_problems": "Страница настроена неверно. Оператору нужно исправить:",
        "public_demo_note": "Публичное демо: до {per_minute} сообщений в минуту и {per_day} в день. Разговоры видны только в этой вкладке и удаляются через {hours} ч.",
        "export_title": "Разговор",
        "role_user": "Вы",
        "role_assistant": "Ассистент",
        "status_stopped_label": "остановлено",
        "status_failed_label": "ошибка",
        "error_balance_gone": "Баланс сервиса исчерпан, поэтому ничего не отправляется; набранный текст остаётся в поле ввода. Попросите того, кто поддерживает эту страницу, пополнить его.",
        "low_balance": "Баланс сервиса {balance}, ниже LIAOBOTS_LOW_BALANCE ({limit}). Пополните его, пока ответы не начали отказывать.",
        "nav_chat": "Чат",
        "nav_usage": "Использование",
        "usage_title": "Использование",
        "usage_intro": "Запросы к сервису по людям и по дням. Записываются только размеры и исход, никогда не текст. Дни и время — в UTC.",
        "usage_period": "Период",
        "usage_last_days": "Последние {days} дн.",
        "usage_period_note": "С {first} по {last} (дни в UTC)",
        "usage_requests": "Запросы",
        "usage_reply_chars": "Символы ответов",
        "usage_failures": "Ошибки",
        "usage_people": "Люди",
        "usage_balance": "Баланс сервиса",
        "usage_balance_unknown": "неизвестен",
        "usage_balance_demo": "Используется офлайн-демо: у него нет баланса.",
        "usage_balance_no_code": "Код доступа не задан ни на сервере, ни на боковой панели.",
        "usage_balance_failed": "Сервис не ответил: {error}",
        "usage_per_day": "По дням",
        "usage_answered": "С ответом",
        "usage_day": "День (UTC)",
        "usage_per_person": "По людям",
        "usage_person": "Человек",
        "usage_chars_in": "Отправлено символов",
        "usage_chars_out": "Символы ответов",
        "usage_last_active": "Последняя активность (UTC)",
        "usage_errors": "Ошибки по видам",
        "usage_no_errors": "За этот период ни один запрос не завершился ошибкой.",
        "usage_kind": "Вид",
        "usage_what": "Что пошло не так",
        "usage_count": "Запросы",
        "usage_last_seen": "Последняя (UTC)",
        "usage_nothing": "За этот период никто не отправлял запросов.",
        "usage_csv": "Скачать запросы за период (CSV)",
        "usage_csv_help": "Строка на запрос: когда (UTC), кто, модель, символы туда и обратно, чем закончился. Никогда не текст.",
        "usage_unavailable": "Записи об использовании сейчас недоступны (база данных недоступна). Обновите страницу чуть позже.",
        "kind_auth": "Код доступа отклонён",
        "kind_human_check": "Страница проверки вместо ответа",
        "kind_balance": "Закончился баланс (402)",
        "kind_rate_limit": "Ограничение частоты (429)",
        "kind_upstream": "Сервис сбоил (5xx)",
        "kind_refused": "Сервис отклонил запрос",
        "kind_timeout": "Сервис замолчал",
        "kind_connection": "Сервис недоступен",
        "kind_connection_cut": "Соединение оборвалось посреди ответа",
        "kind_protocol": "Ответ, который страница не может прочитать",
        "kind_config": "Непригодные настройки",
        "kind_missing_code": "Нет кода доступа",
        "kind_unknown": "Что-то непредвиденное",
        "usage_local_user": "локальный пользователь",
        "usage_demo_visitor": "демо-посетитель {id}",
    },
}


def pick_language(locale: str | None) -> str:
    """The page language for a browser locale such as 'ru-RU'; English otherwise."""
    if locale:
        primary = locale.replace("_", "-").split("-")[0].lower()
        if primary in STRINGS:
            return primary
    return DEFAULT_LANGUAGE


def t(lang: str, key: str, **values: object) -> str:
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANGUAGE])
    template = table.get(key) or STRINGS[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
