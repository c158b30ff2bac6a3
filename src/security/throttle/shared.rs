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

/// The login counters' kinds (part of their Redis keys).
pub(super) const ADDRESSES: &str = "login_address";
const ACCOUNTS: &str = "login_account";
const PAIRS: &str = "login_pair";

/// The key of an account at one address (the backoff's).
pub(super) fn pair_key(account: &str, address: &str) -> String {
    format!("{account}\u{0}{address}")
}

/// The Lua both scripts start with: Redis's own time, and two functions.
///
/// `window(key, max, win, op, member)`: a sliding window. It drops events older than the
/// window; `check` answers the wait when the key is full, `take` does the same and counts
/// the event when it is not, `add` counts it unconditionally. The window keeps only its
/// newest `max` events, so the oldest kept is the one whose expiry frees a place.
///
/// `backoff(key, op, free, cap)`: consecutive failures with a doubling wait (see
/// `local::Backoff`): `fail` counts one (starting over when the key was quiet for `cap`),
/// `check` answers the wait.
macro_rules! lua_prelude {
    () => {
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function window(key, max, win, op, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - win)
  if op ~= 'add' then
    if redis.call('ZCARD', key) >= max then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      return math.max(1, math.ceil((tonumber(oldest[2]) + win - now) / 1000))
    end
    if op == 'check' then return 0 end
  end
  redis.call('ZADD', key, now, member)
  redis.call('ZREMRANGEBYRANK', key, 0, -(max + 1))
  redis.call('PEXPIRE', key, win)
  return 0
end
local function backoff(key, op, free, cap)
  free = math.max(1, free)
  local v = redis.call('HMGET', key, 'n', 'at')
  local n = tonumber(v[1]) or 0
  local at = tonumber(v[2]) or now
  if op == 'fail' then
    if now - at >= cap then n = 0 end
    n = n + 1
    redis.call('HSET', key, 'n', n, 'at', now)
    redis.call('PEXPIRE', key, cap)
    return 0
  end
  if n < free then return 0 end
  local wait = math.min(1000 * 2 ^ math.min(n - free, 20), cap)
  local since = now - at
  if since < wait then return math.max(1, math.ceil((wait - since) / 1000)) end
  return 0
end
"
    };
}

/// One window operation: KEYS[1]; ARGV max, window (ms), op, member.
const WINDOW: &str = concat!(
    lua_prelude!(),
    "return window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4])"
);

/// A login attempt's three checks in one round trip, in order, the first wait winning: the
/// address's window (the attempt counted), the account-and-address backoff, and the
/// account's failure window unless ARGV[8] is `0` (a known device). KEYS: address, pair,
/// account; ARGV: address max, window (ms), member; pair free, cap (ms); account max,
/// window (ms); check the account.
const LOGIN_CHECK: &str = concat!(
    lua_prelude!(),
    r"
local w = window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 'take', ARGV[3])
if w > 0 then return w end
w = backoff(KEYS[2], 'check', tonumber(ARGV[4]), tonumber(ARGV[5]))
if w > 0 then return w end
if ARGV[8] == '1' then
  return window(KEYS[3], tonumber(ARGV[6]), tonumber(ARGV[7]), 'check', '')
end
return 0
"
);

/// A failed login in one round trip: one more on the account's failure window and on the
/// pair's backoff. KEYS: account, pair; ARGV: account max, window (ms), member; pair free,
/// cap (ms).
const LOGIN_FAILED: &str = concat!(
    lua_prelude!(),
    r"
window(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 'add', ARGV[3])
backoff(KEYS[2], 'fail', tonumber(ARGV[4]), tonumber(ARGV[5]))
return 0
"
);

/// The login throttle's budgets: (max, window) for addresses and accounts, (free failures,
/// cap) for an account at one address.
#[derive(Debug, Clone, Copy)]
pub(super) struct LoginBudget {
    pub addresses: (u32, Duration),
    pub pair: (u32, Duration),
    pub accounts: (u32, Duration),
}

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

    /// A login attempt's checks (see `LOGIN_CHECK`), one round trip; `Some(seconds)` when
    /// one of them refuses.
    pub(super) async fn login_check(
        &self,
        budget: &LoginBudget,
        account: &str,
        address: &str,
        check_account: bool,
    ) -> redis::RedisResult<Option<u64>> {
        let ms = |d: Duration| d.as_millis() as u64;
        let wait: i64 = redis::cmd("EVAL")
            .arg(LOGIN_CHECK)
            .arg(3)
            .arg(self.key(ADDRESSES, address))
            .arg(self.key(PAIRS, &pair_key(account, address)))
            .arg(self.key(ACCOUNTS, account))
            .arg(budget.addresses.0)
            .arg(ms(budget.addresses.1))
            .arg(uuid::Uuid::new_v4().simple().to_string())
            .arg(budget.pair.0)
            .arg(ms(budget.pair.1))
            .arg(budget.accounts.0)
            .arg(ms(budget.accounts.1))
            .arg(if check_account { "1" } else { "0" })
            .query_async(&mut self.conn.clone())
            .await?;
        Ok((wait > 0).then_some(wait as u64))
    }

    /// A failed login (see `LOGIN_FAILED`), one round trip.
    pub(super) async fn login_failed(
        &self,
        budget: &LoginBudget,
        account: &str,
        address: &str,
    ) -> redis::RedisResult<()> {
        let ms = |d: Duration| d.as_millis() as u64;
        redis::cmd("EVAL")
            .arg(LOGIN_FAILED)
            .arg(2)
            .arg(self.key(ACCOUNTS, account))
            .arg(self.key(PAIRS, &pair_key(account, address)))
            .arg(budget.accounts.0)
            .arg(ms(budget.accounts.1))
            .arg(uuid::Uuid::new_v4().simple().to_string())
            .arg(budget.pair.0)
            .arg(ms(budget.pair.1))
            .query_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }

    /// A successful login: the pair's backoff, and the account's failures unless it came
    /// from a known device, forgotten in one round trip.
    pub(super) async fn login_succeeded(
        &self,
        account: &str,
        address: &str,
        clear_account: bool,
    ) -> redis::RedisResult<()> {
        let mut del = redis::cmd("DEL");
        del.arg(self.key(PAIRS, &pair_key(account, address)));
        if clear_account {
            del.arg(self.key(ACCOUNTS, account));
        }
        del.query_async::<i64>(&mut self.conn.clone())
            .await
            .map(|_| ())
    }
}
