-- Chat, complete (SQLite): edits and soft deletes, read positions, attachments, office hours.

ALTER TABLE chat_messages ADD COLUMN edited_at TEXT;
ALTER TABLE chat_messages ADD COLUMN deleted_at TEXT;
ALTER TABLE chat_messages ADD COLUMN attachment_id BLOB;

-- Each participant's last read seq per room (read receipts and unread counts).
CREATE TABLE chat_reads (
    room_id        BLOB NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
    user_id        BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_read_seq  INTEGER NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

-- Files shared in a room, kept in the database so every node can serve them.
CREATE TABLE chat_attachments (
    id                BLOB PRIMARY KEY NOT NULL,
    room_id           BLOB NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
    uploader_user_id  BLOB NOT NULL REFERENCES users(id),
    filename          TEXT NOT NULL,
    content_type      TEXT NOT NULL,
    size_bytes        INTEGER NOT NULL,
    sha256            TEXT NOT NULL,
    data              BLOB NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX chat_attachments_by_room ON chat_attachments (room_id);

-- A professional's office hours for chat, JSON: {"time_zone": "...", "weekly": [...], "note": "..."}.
ALTER TABLE professionals ADD COLUMN office_hours TEXT;

-- One attachment goes out with one message, even across nodes.
CREATE UNIQUE INDEX chat_messages_one_per_attachment ON chat_messages (attachment_id)
    WHERE attachment_id IS NOT NULL;
