"""What the runners and the tools share to reach the world: Kafka clients, HTTP answers and
limits, tokens, logs, metrics, canonical JSON."""
