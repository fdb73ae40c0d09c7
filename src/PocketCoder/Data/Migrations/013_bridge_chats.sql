-- Chats where a linked person wrote to a bridge: the phone offers them to bind to a project while that person is still
-- linked. A chat only strangers wrote in is never listed (anyone can add a bot to a group and name it anything).
CREATE TABLE bridge_chats (
    bridge_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    chat_title TEXT NOT NULL,
    is_direct INTEGER NOT NULL,
    last_user_id TEXT NOT NULL,
    last_user_name TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (bridge_id, chat_id)
);
