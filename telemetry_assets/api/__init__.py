"""The telemetry HTTP service (DESIGN §8): a collector that lands records durably as landing
files, read-only queries over the warehouse plus a live buffer, a WebSocket stream of metric
samples and Prometheus metrics. `api.pipeline` is its only door into the pipeline's code."""
