# Build: the whole dependency set is pure Rust (no libpq, no OpenSSL).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY tests ./tests
COPY benches ./benches
RUN cargo build --release --locked --bin bamex

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /app bamex
WORKDIR /app
COPY --from=build /src/target/release/bamex /usr/local/bin/bamex
COPY config ./config
# Two malloc arenas instead of glibc's eight per core: memory freed by the blocking pool's
# threads (badge PDFs, photos) is reused instead of staying mapped in each thread's arena
# (README, Memory).
ENV BAMEX_ENV=production \
    BAMEX_CONFIG_DIR=/app/config \
    PORT=8080 \
    MALLOC_ARENA_MAX=2
USER bamex
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["bamex"]
CMD ["serve"]
