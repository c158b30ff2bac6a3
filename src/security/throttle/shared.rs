//! The throttles' counters in Redis, shared by every node of an installation: with two
//! nodes behind a balancer an attacker gets the configured budget once, not once per node.
//!
//! Each counter is one Redis key under the installation's namespace (`atende:<installation
//! id>:throttle:<kind>:<hash of the key>`: the e-mail or address itself is never stored
//! there). A check and its count happen in one Lua script, so concurrent attempts on
//! several nodes cannot all slip through the last free place. Times are Redis's own
//! (`TIME`), so the nodes' clocks need not agree. A key expires when its window does.

use std::time::Duration;

use redis::aio::ConnectionManager;
use sha2::{Digest as _, Sha256};

/// A sliding window: drop events older than the window; `check` answers the wait when the
/// key is full, `take` does the same and counts the event when it is not, `add` counts it
/// unconditionally. The window keeps only its newest `max` events, so the oldest kept is the
/// one whose expiry frees a place.
const WINDOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
if ARGV[3] ~= 'add' then
  if redis.call('ZCARD', KEYS[1]) >= max then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return math.max(1, math.ceil((tonumber(oldest[2]) + win - now) / 1000))
  end
  if ARGV[3] == 'check' then return 0 end
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(max + 1))
redis.call('PEXPIRE', KEYS[1], win)
return 0
";

/// Consecutive failures with a doubling wait (see `local::Backoff`): `fail` counts one
/// (starting over when the key was quiet for `cap`), `check` answers the wait.
const BACKOFF: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local free = math.max(1, tonumber(ARGV[2]))
local cap = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'n', 'at')
local n = tonumber(v[1]) or 0
local at = tonumber(v[2]) or now
if ARGV[1] == 'fail' then
  if now - at >= cap then n = 0 end
  n = n + 1
  redis.call('HSET', KEYS[1], 'n', n, 'at', now)
  redis.call('PEXPIRE', KEYS[1], cap)
  return 0
end
if n < free then return 0 end
local wait = math.min(1000 * 2 ^ math.min(n - free, 20), cap)
local since = now - at
if since < wait then return math.max(1, math.ceil((wait - since) / 1000)) end
return 0
";

/// What a window operation does.
#[derive(Debug, Clone, Copy)]
pub(super) enum WindowOp {
    Check,
    Take,
    Add,
}

impl WindowOp {
    fn arg(self) -> &'static str {
        match self {
            WindowOp::Check => "check",
            WindowOp::Take => "take",
            WindowOp::Add => "add",
        }
    }
}

/// The installation's counters in Redis.
pub struct SharedCounters {
    conn: ConnectionManager,
    namespace: String,
}

impl std::fmt::Debug for SharedCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCounters")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl SharedCounters {
    /// Connect to Redis. `installation` names this installation (every node on one database
    /// has the same), so installations sharing a Redis keep apart. A command that gets no
    /// answer within 500 ms fails, and the throttle falls back to the node's own counters.
    pub async fn connect(url: &str, installation: &str) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            conn,
            namespace: format!("atende:{installation}:throttle"),
        })
    }

    fn key(&self, kind: &str, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        format!("{}:{kind}:{}", self.namespace, hex::encode(&digest[..16]))
    }

    /// A window operation; `Some(seconds)` when the key is over its budget.
    pub(super) async fn window(
        &self,
        kind: &str,
        key: &str,
        max: u32,
        window: Duration,
        op: WindowOp,
    ) -> redis::RedisResult<Option<u64>> {
        let member = uuid::Uuid::new_v4().simple().to_string();
        let wait: i64 = redis::cmd("EVAL")
            .arg(WINDOW)
            .arg(1)
            .arg(self.key(kind, key))
            .arg(max)
            .arg(window.as_millis() as u64)
            .arg(op.arg())
            .arg(member)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok((wait > 0).then_some(wait as u64))
    }

    /// The wait of a backoff key (`fail: false`), or one more failure on it (`fail: true`).
    pub(super) async fn backoff(
        &self,
        key: &str,
        free: u32,
        cap: Duration,
        fail: bool,
    ) -> redis::RedisResult<Option<u64>> {
        let wait: i64 = redis::cmd("EVAL")
            .arg(BACKOFF)
            .arg(1)
            .arg(self.key("backoff", key))
            .arg(if fail { "fail" } else { "check" })
            .arg(free)
            .arg(cap.as_millis() as u64)
            .query_async(&mut self.conn.clone())
            .await?;
        Ok((wait > 0).then_some(wait as u64))
    }

    /// Forget a counter.
    pub(super) async fn clear(&self, kind: &str, key: &str) -> redis::RedisResult<()> {
        redis::cmd("DEL")
            .arg(self.key(kind, key))
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }
}
