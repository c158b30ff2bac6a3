#!/bin/sh
# Create the random secrets compose.yaml reads, once, in ./secrets/ (never overwritten).
# Keep a copy of encryption_key, audit_key and backup_key somewhere safe and apart from the
# backups: without encryption_key the clinical text cannot be read.
set -eu
cd "$(dirname "$0")/../.."
umask 077
mkdir -p secrets
new() { [ -s "secrets/$1" ] || openssl rand -base64 "$2" | tr -d '\n' >"secrets/$1"; }
new postgres_password 24
new jwt_secret 48
new encryption_key 32
new audit_key 32
new backup_key 32
new turn_secret 32
if [ ! -s secrets/database_url ]; then
    pw=$(tr '+/' '-_' <secrets/postgres_password | tr -d '=')
    printf '%s' "$pw" >secrets/postgres_password
    printf 'postgres://atende:%s@postgres:5432/atende' "$pw" >secrets/database_url
fi
# The directory keeps other users of this host out; the files must be readable by the
# containers' users (atende runs as uid 10001), which Compose bind-mounts them to.
chmod 0700 secrets
chmod 0644 secrets/*
echo "secrets ready in $(pwd)/secrets"
