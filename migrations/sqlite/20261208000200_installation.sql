-- One row naming this installation: every node on this database reads the same id, and
-- uses it to keep its shared Redis keys (the throttles' counters) apart from any other
-- installation's on the same Redis.
CREATE TABLE installation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
