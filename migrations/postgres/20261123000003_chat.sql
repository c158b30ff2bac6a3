-- Chat, complete (PostgreSQL). Keep in step with migrations/sqlite.

ALTER TABLE chat_messages ADD COLUMN edited_at timestamptz;
ALTER TABLE chat_messages ADD COLUMN deleted_at timestamptz;
ALTER TABLE chat_messages ADD COLUMN attachment_id uuid;

CREATE TABLE chat_reads (
    room_id        uuid NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_read_seq  bigint NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE chat_attachments (
    id                uuid PRIMARY KEY,
    room_id           uuid NOT NULL REFERENCES chat_rooms(id) ON DELETE CASCADE,
    uploader_user_id  uuid NOT NULL REFERENCES users(id),
    filename          text NOT NULL,
    content_type      text NOT NULL,
    size_bytes        bigint NOT NULL,
    sha256            text NOT NULL,
    data              bytea NOT NULL,
    created_at        timestamptz NOT NULL
);
CREATE INDEX chat_attachments_by_room ON chat_attachments (room_id);

ALTER TABLE professionals ADD COLUMN office_hours text;

CREATE UNIQUE INDEX chat_messages_one_per_attachment ON chat_messages (attachment_id)
    WHERE attachment_id IS NOT NULL;
