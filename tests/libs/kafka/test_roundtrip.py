from agentdeck.contracts import ALL_EVENTS, Codec
from agentdeck.contracts.examples import example_message
from agentdeck.kafka import EventProducer, Topic, new_traceparent, topic_for
from agentdeck.kafka import headers as h
from agentdeck.settings import KafkaSettings
from testkit.kafka import read_topic


def test_every_event_type_round_trips_through_the_broker(kafka: KafkaSettings, codec: Codec):
    producer = EventProducer(kafka, codec, client_id="roundtrip")
    sent = []
    for version in (codec.registry.latest(name) for name in codec.registry.names()):
        event = codec.decode(example_message(version))
        env = event.envelope.model_copy(update={"traceparent": new_traceparent()})
        event = event.model_copy(update={"envelope": env})
        producer.send(event, topic=Topic.RUNS.full(kafka.topic_prefix))
        sent.append(event)
    producer.flush()

    received = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), len(sent))
    assert len(received) == len(sent)
    decoded = {}
    for message in received:
        writer = codec.registry.by_fingerprint(message.value()[2:10])
        assert writer is not None, "the writer schema is found by fingerprint"
        event = codec.decode(message.value())
        headers = dict(message.headers())
        assert headers[h.EVENT_TYPE].decode() == writer.full_name
        assert headers[h.SCHEMA_FINGERPRINT].decode() == writer.fingerprint_hex
        assert headers[h.TRACEPARENT].decode() == event.envelope.traceparent
        decoded[event.envelope.event_type] = event
    assert sorted(decoded.values(), key=lambda e: e.envelope.event_type) == sorted(
        sent, key=lambda e: e.envelope.event_type
    )
    assert {type(e) for e in decoded.values()} == set(ALL_EVENTS)


def test_events_of_a_run_share_a_key_and_so_a_partition(kafka: KafkaSettings, codec: Codec):
    producer = EventProducer(kafka, codec, client_id="keys")
    versions = codec.registry.versions()
    events = [codec.decode(example_message(v)) for v in versions]
    routed = [e for e in events if topic_for(e) is Topic.RUNS]
    for event in routed:
        producer.send(event)
    producer.flush()
    received = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), len(routed))
    assert {m.key() for m in received} == {b"run_id-example"}
    assert len({m.partition() for m in received}) == 1
