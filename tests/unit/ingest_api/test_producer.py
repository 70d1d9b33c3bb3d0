"""The producer wrapper without a broker: nothing is acknowledged, and it says so."""

import pytest

from ingest_api.producer import DeliveryError, EventProducer, Outgoing
from loom_cli.stack.process import free_port


async def test_no_broker_means_a_delivery_error_within_the_ack_timeout():
    producer = EventProducer(f"127.0.0.1:{free_port()}", ack_timeout_s=0.5)
    try:
        message = Outgoing("device.sensor.gps.raw", b"k", b"{}")
        results = await producer.send_many([message, message])
        assert len(results) == 2
        assert all(isinstance(r, DeliveryError) for r in results)
        assert "0.5 s" in str(results[0])
        with pytest.raises(DeliveryError):
            await producer.send(message)
    finally:
        producer.close(timeout_s=0.1)


async def test_nothing_to_send_is_no_work():
    producer = EventProducer(f"127.0.0.1:{free_port()}", ack_timeout_s=0.5)
    try:
        assert await producer.send_many([]) == []
    finally:
        producer.close(timeout_s=0.1)
