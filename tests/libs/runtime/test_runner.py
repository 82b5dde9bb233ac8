import threading
from collections.abc import Sequence

from agentdeck.kafka import EventProducer, InMemoryProcessedLog, Topic
from agentdeck.runtime import ServiceRunner, Subscription
from agentdeck.settings import ServiceSettings
from testkit.kafka import goal, read_topic, started_for


class FlakyLog(InMemoryProcessedLog):
    """A processed log whose store fails once with an unexpected error."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    def filter_new(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        if self.failures == 0:
            self.failures += 1
            raise RuntimeError("store connection reset")
        return super().filter_new(consumer, event_ids)


def test_a_crashed_loop_is_restarted_and_nothing_is_lost(kafka, codec):
    producer = EventProducer(kafka, codec, client_id="src")
    producer.send_all(goal(n) for n in range(5))
    producer.flush()
    settings = ServiceSettings(
        service_name="relay", consumer_group=f"{kafka.topic_prefix}-relay", kafka=kafka
    )
    flaky = FlakyLog()
    runner = ServiceRunner(
        settings, codec, [Subscription("goals", (Topic.GOALS,), started_for, processed=flaky)]
    )
    runner.start()
    try:
        started = read_topic(kafka, Topic.RUNS.full(kafka.topic_prefix), 5, timeout_s=40)
        assert runner.alive()
    finally:
        runner.stop()
    assert flaky.failures == 1
    assert {codec.decode(m.value()).envelope.run_id for m in started} == {
        f"run-{n}" for n in range(5)
    }
    assert not runner.alive()


def test_a_task_that_raises_is_started_again_and_the_service_stays_alive(kafka, codec):
    settings = ServiceSettings(
        service_name="tasks", consumer_group=f"{kafka.topic_prefix}-tasks", kafka=kafka
    )
    runs: list[int] = []
    second = threading.Event()

    def task(stop: threading.Event) -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database connection terminated")
        second.set()
        stop.wait()

    runner = ServiceRunner(settings, codec, [], tasks=[("sweep", task)])
    runner.start()
    try:
        assert second.wait(10), "the task was not started again"
        assert runner.alive()
    finally:
        runner.stop()
    assert runs == [0, 1]
    assert not runner.alive()
