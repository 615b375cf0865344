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
