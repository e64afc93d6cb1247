"""The reference: the same day written plainly in DuckDB SQL, as a data engineer would.

read_json, the envelope checks, dedup on a hash of the record, the same aggregates, Parquet out.
Run as `python -m telemetry_assets.devtools.benchmark.reference LANDING_GLOB OUT_DIR DAY`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

SQL = """
SET threads = {threads};
SET TimeZone = 'UTC';
CREATE TABLE raw AS
  SELECT * FROM read_json('{files}', format = 'newline_delimited', ignore_errors = true,
    columns = {{schema_version: 'VARCHAR', channel: 'VARCHAR', event: 'VARCHAR',
               timestamp: 'VARCHAR', payload: 'JSON'}});
CREATE TABLE valid AS
  SELECT md5(concat_ws('|', schema_version, channel, event, timestamp, payload::VARCHAR))
           AS event_id,
         schema_version, channel, event,
         timestamp::TIMESTAMPTZ AS ts,
         payload ->> 'user_id' AS user_id,
         payload ->> 'feature_id' AS feature_id,
         payload ->> 'service' AS service,
         TRY_CAST(payload ->> 'latency_ms' AS DOUBLE) AS latency_ms,
         payload::VARCHAR AS payload
  FROM raw
  WHERE schema_version = 'telemetry_event_v1' AND channel IS NOT NULL
    AND trim(coalesce(event, '')) <> '' AND json_type(payload) = 'OBJECT'
    AND TRY_CAST(timestamp AS TIMESTAMPTZ) IS NOT NULL
    AND coalesce(TRY_CAST(payload ->> 'latency_ms' AS DOUBLE), 0) >= 0;
CREATE TABLE events AS
  SELECT DISTINCT ON (event_id) * FROM valid WHERE ts::DATE = DATE '{day}';
COPY events TO '{out}/events.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT channel, event, count(*) AS events FROM events GROUP BY ALL)
  TO '{out}/event_counts.parquet' (FORMAT parquet);
COPY (SELECT feature_id, count(*) AS events, count(DISTINCT user_id) AS users FROM events
      WHERE feature_id IS NOT NULL GROUP BY ALL) TO '{out}/feature_usage.parquet' (FORMAT parquet);
COPY (SELECT count(DISTINCT user_id) AS dau FROM events) TO '{out}/active_users.parquet'
  (FORMAT parquet);
COPY (SELECT service, count(*) AS count, quantile_cont(latency_ms, 0.5) AS p50,
             quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99,
             avg(latency_ms) AS mean, max(latency_ms) AS max
      FROM events WHERE service IS NOT NULL AND latency_ms IS NOT NULL GROUP BY ALL)
  TO '{out}/latency_by_service.parquet' (FORMAT parquet);
COPY (SELECT feature_id, count(*) AS count, quantile_cont(latency_ms, 0.5) AS p50,
             quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99,
             avg(latency_ms) AS mean, max(latency_ms) AS max
      FROM events WHERE feature_id IS NOT NULL AND latency_ms IS NOT NULL GROUP BY ALL)
  TO '{out}/latency_by_feature.parquet' (FORMAT parquet);
"""


def run(files: str, out: Path, day: str, threads: int = 2) -> None:
    out.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    connection.execute(SQL.format(files=files, out=out, day=day, threads=threads))


if __name__ == "__main__":
    run(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
