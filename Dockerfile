# atende container image. Builds as-is with Docker or Podman (no engine runs in atende's CI;
# `hadolint Dockerfile` checks this file there):
#
#   docker build -t atende .        podman build -t atende .
#
# Run it with a read-only root filesystem; only the data volume (and /tmp) are writable:
#
#   docker run --read-only --tmpfs /tmp -v atende-data:/var/lib/atende -p 8080:8080 atende
#
# No secret is baked in: configure keys at run time (ATENDE_*_FILE variables pointing at
# mounted secrets), or let `atende serve` generate them into the data volume.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM docker.io/library/rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
# Dependencies first, from the lock file only, so this layer is reused while the code changes.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src benches \
    && printf 'fn main() {}\n' > src/main.rs \
    && touch src/lib.rs \
    && printf 'fn main() {}\n' > benches/cid10.rs \
    && cargo fetch --locked
COPY config ./config
COPY migrations ./migrations
COPY web ./web
COPY src ./src
RUN cargo build --release --locked --offline \
    && install -D -m 0755 target/release/atende /out/atende

FROM docker.io/library/debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="atende" \
      org.opencontainers.image.description="Real-time clinic platform: agendas, waiting rooms, chat, teleconsultations and signed documents" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.version="${VERSION}"
# pg_dump/pg_restore for `atende backup`/`restore` on PostgreSQL; CA roots for SMTP over TLS.
# Versions come from the Debian release pinned above (its security updates included).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/atende --shell /usr/sbin/nologin atende \
    && install -d -o atende -g atende -m 0700 /var/lib/atende
COPY --from=build /out/atende /usr/local/bin/atende
ENV ATENDE_DATA__DIR=/var/lib/atende \
    ATENDE_SERVER__HOST=0.0.0.0 \
    ATENDE_SERVER__PORT=8080 \
    ATENDE_LOG__FORMAT=json
USER 10001:10001
WORKDIR /var/lib/atende
VOLUME ["/var/lib/atende"]
EXPOSE 8080
# `atende health` asks this node's /health/ready (no curl in the image).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/atende", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/atende"]
CMD ["serve"]
