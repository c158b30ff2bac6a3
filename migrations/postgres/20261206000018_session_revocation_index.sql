-- Every node polls for login sessions revoked in the last seconds (by another process such as
-- `atende admin set-password`, or while the bus was down) and closes their sockets: the poll
-- reads recent revocations through this index.
CREATE INDEX auth_sessions_by_revoked_at ON auth_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
