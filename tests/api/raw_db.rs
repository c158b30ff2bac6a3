//! The database as stored, read and written around the app: what a copy of the files or
//! the tables shows to someone without the keys.

use atende::store::keys::{ENCRYPTED_COLUMNS, Form};

use crate::helpers::*;

/// Run `$body` with `$c` a direct connection to the test's database (either engine).
macro_rules! with_conn {
    ($app:expr, $c:ident => $body:expr) => {
        if $app.is_postgres() {
            let mut $c = <sqlx::PgConnection as sqlx::Connection>::connect(&$app.db_url)
                .await
                .expect("connect");
            $body
        } else {
            let mut $c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&$app.db_url)
                .await
                .expect("connect");
            $body
        }
    };
}
pub(crate) use with_conn;

/// One column's values as stored, as bytes (text columns as their UTF-8).
pub(crate) async fn raw_values(app: &TestApp, table: &str, column: &str) -> Vec<Vec<u8>> {
    let sql = format!("SELECT {column} FROM {table} WHERE {column} IS NOT NULL");
    let bytes = ENCRYPTED_COLUMNS
        .iter()
        .any(|c| c.table == table && c.column == column && c.form == Form::BytesOrPlain);
    with_conn!(app, c => {
        if bytes {
            sqlx::query_scalar::<_, Vec<u8>>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .expect("rows")
        } else {
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut c)
                .await
                .expect("rows")
                .into_iter()
                .map(String::into_bytes)
                .collect()
        }
    })
}

pub(crate) async fn raw_exec(app: &TestApp, sql: String, bind: Vec<u8>) {
    with_conn!(app, c => {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(bind)
            .execute(&mut c)
            .await
            .expect("exec");
    })
}

pub(crate) fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The whole database as stored: the SQLite file and its WAL, or every PostgreSQL table as
/// text (byte columns in hex).
pub(crate) async fn whole_database(app: &TestApp) -> Vec<u8> {
    if app.is_postgres() {
        let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&app.db_url)
            .await
            .expect("connect");
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
        )
        .fetch_all(&mut c)
        .await
        .expect("tables");
        let mut all = Vec::new();
        for t in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT t::text FROM {t} t")))
                    .fetch_all(&mut c)
                    .await
                    .expect("rows");
            for r in rows {
                all.extend_from_slice(r.as_bytes());
            }
        }
        all
    } else {
        let file = app.db_url.strip_prefix("sqlite://").expect("sqlite url");
        let mut all = std::fs::read(file).expect("database file");
        all.extend(std::fs::read(format!("{file}-wal")).unwrap_or_default());
        all
    }
}
