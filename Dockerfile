# confcal in a container:
#   docker build -t confcal .
#   docker run -d --name confcal -p 8080:8080 -v confcal-data:/data \
#     -e CONFCAL_BASE_URL=https://confcal.example -e CONFCAL_ADMIN_TOKEN=... confcal
# Configuration is by the same CONFCAL_* variables as everywhere (README).

# The two base images, overridable with --build-arg (scripts/test-container
# builds on local images made with debootstrap, with no registry); the
# defaults are the official images, which is what operators build on.
ARG BUILDER_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build ------------------------------------------------------------------
FROM ${BUILDER_IMAGE} AS builder
WORKDIR /src

# Dependencies first, built against placeholder sources: this layer is
# reused until Cargo.toml or Cargo.lock change, so editing confcal's own
# code does not rebuild actix-web, SQLite and the rest.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/render.rs \
    && cargo build --release --locked \
    && rm -rf src benches

# Everything the build reads: sources (with the SQL migrations), the askama
# templates and the embedded assets; benches/ only because Cargo.toml names
# a bench target.
COPY src ./src
COPY templates ./templates
COPY assets ./assets
COPY benches ./benches
# COPY keeps the build context's modification times, which can be older
# than the placeholder build's: make cargo see the real sources as new.
RUN touch src/lib.rs src/main.rs \
    && cargo build --release --locked

# ---- run --------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

# ca-certificates only (no curl: the HEALTHCHECK is `confcal healthcheck`).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 confcal \
    && useradd --system --uid 10001 --gid confcal --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin confcal \
    && mkdir -p /data \
    && chown confcal:confcal /data

COPY --from=builder /src/target/release/confcal /usr/local/bin/confcal
# The seed: imported when the database is empty (first start on a new volume).
COPY data /app/data

ENV CONFCAL_DB=/data/confcal.db \
    CONFCAL_ADDR=0.0.0.0:8080 \
    CONFCAL_DATA_DIR=/app/data \
    RUST_LOG=info

VOLUME ["/data"]
EXPOSE 8080
# Numeric, so orchestrators can check it is not root (runAsNonRoot).
USER 10001:10001
WORKDIR /app

# GET /healthz on 127.0.0.1:<port of CONFCAL_ADDR>: 200 only when the
# database answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
    CMD ["confcal", "healthcheck"]

# SIGTERM (docker stop): stop accepting, finish requests in flight (9 s at
# most), checkpoint the WAL, exit 0, inside docker stop's 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["confcal"]
CMD ["serve"]
