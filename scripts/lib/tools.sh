# Tools the test command and the benchmark suite install when missing (sourced, not run).
# Expects CARGO_TARGET_DIR to be set.

# DuckDB (PyPI): an independent Parquet reader for the lake tests, and the peer in the benchmarks.
ensure_duckdb() {
  if ! python3 -c 'import duckdb' >/dev/null 2>&1; then
    echo "installing duckdb for python3"
    python3 -m pip install --quiet --user duckdb || python3 -m pip install --quiet --break-system-packages duckdb
  fi
  # Readers of the lake's Delta tables outside spotcheck (tests, README, benchmarks).
  if ! python3 -c 'import deltalake' >/dev/null 2>&1; then
    echo "installing deltalake for python3"
    python3 -m pip install --quiet --user deltalake || python3 -m pip install --quiet --break-system-packages deltalake
  fi
  # An S3-compatible server for the lake's object-storage tests (loopback only).
  if ! python3 -c 'import moto.server, flask_cors' >/dev/null 2>&1; then
    echo "installing moto[server] for python3"
    python3 -m pip install --quiet --user 'moto[server]' || python3 -m pip install --quiet --break-system-packages 'moto[server]'
  fi
}

# The broker as its own process: Tansu with SQLite storage (its default build stores nothing).
# Built once (~8 min cold), kept next to the build cache; exports SPOTCHECK_TANSU.
ensure_tansu() {
  local version=0.6.0 tools="$CARGO_TARGET_DIR/tools"
  export SPOTCHECK_TANSU="$tools/bin/tansu"
  if ! "$SPOTCHECK_TANSU" --version 2>/dev/null | grep -q "$version"; then
    echo "installing tansu $version (a Kafka-protocol broker) into $tools"
    env -u CARGO_TARGET_DIR cargo install --locked --quiet tansu --version "$version" \
      --features libsql --root "$tools" --target-dir "$CARGO_TARGET_DIR/tools-build"
  fi
}
