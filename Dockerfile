# spotcheck: one binary, every component. Multi-stage: build with the Rust toolchain, run on a
# small Debian image as a non-root user.
#   docker build -t spotcheck .
FROM rust:1.95-bookworm AS build
WORKDIR /src
# rdkafka builds its bundled librdkafka with gcc, g++, make and pkg-config (all in this image).
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin spotcheck \
    && cp target/release/spotcheck /usr/local/bin/spotcheck

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/spotcheck --create-home spotcheck \
    && mkdir -p /var/lib/spotcheck/lake && chown -R spotcheck /var/lib/spotcheck
COPY --from=build /usr/local/bin/spotcheck /usr/local/bin/spotcheck
USER spotcheck
WORKDIR /var/lib/spotcheck
ENV SPOTCHECK_DATA_DIR=/var/lib/spotcheck \
    SPOTCHECK_HTTP=0.0.0.0:8080 \
    SPOTCHECK_PG=0.0.0.0:5433 \
    SPOTCHECK_LOG_FORMAT=json
VOLUME ["/var/lib/spotcheck"]
EXPOSE 8080 5433
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["spotcheck"]
CMD ["up"]
