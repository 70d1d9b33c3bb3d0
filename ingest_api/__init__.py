"""The FastAPI ingress: devices post raw events, acknowledged once Kafka has them."""
