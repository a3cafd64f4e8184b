"""PutKeyPolicy pacing: the token bucket keeps to its rate after its burst, whatever the
callers do, and the gateway keeps one bucket per Region (KMS's quotas are per account and
Region). Driven in simulated time: no test here waits or measures real time."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmswizard.aws.gateway import KmsGateway
from kmswizard.aws.options import PUT_KEY_POLICY_QUOTA, AwsOptions
from kmswizard.aws.ratelimit import TokenBucket


class SimulatedClock:
    """A clock that only moves when a caller sleeps (or a test moves it). Thread-safe."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "the bucket never sleeps for nothing"
        with self.lock:
            self.now += seconds

    def at_least(self, moment: float) -> None:
        with self.lock:
            self.now = max(self.now, moment)


def most_in_any_window(grants: list[float], window: float) -> int:
    """The largest number of grants within any interval of length ``window``."""
    ordered = sorted(grants)
    most, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] > window + 1e-9:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_a_burst_then_the_rate() -> None:
    clock = SimulatedClock()
    bucket = TokenBucket(rate=15, burst=15, clock=clock, sleep=clock.sleep)
    grants = []
    for _ in range(100):
        bucket.take()
        grants.append(clock())

    assert grants[:15] == [0.0] * 15  # the burst: no waiting
    gaps = [b - a for a, b in itertools.pairwise(grants[14:])]
    assert all(gap == pytest.approx(1 / 15) for gap in gaps)  # then one every 1/15 s
    assert grants[-1] == pytest.approx((100 - 15) / 15)  # 100 writes: 5.67 s at least


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 5.0, 15.0, 100.0]),
    burst=st.integers(min_value=1, max_value=20),
    arrivals=st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1,
                      max_size=120),
)
def test_never_more_than_the_burst_plus_the_rate(rate: float, burst: int,
                                                 arrivals: list[float]) -> None:
    """Whenever the calls come, in any interval of t seconds at most burst + rate * t are
    let through, and no call is let through before it was made."""
    clock = SimulatedClock()
    bucket = TokenBucket(rate=rate, burst=burst, clock=clock, sleep=clock.sleep)
    grants = []
    for arrival in sorted(arrivals):
        clock.at_least(arrival)
        bucket.take()
        assert clock() >= arrival
        grants.append(clock())
    for window in (0.0, 0.5, 1.0, 3.0):
        assert most_in_any_window(grants, window) <= burst + rate * window + 1e-6


def test_threads_share_one_budget() -> None:
    """Eight threads taking at once get no more than one caller would."""
    clock = SimulatedClock()
    bucket = TokenBucket(rate=15, burst=15, clock=clock, sleep=clock.sleep)
    grants: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            bucket.take()
            moment = clock()
            with lock:
                grants.append(moment)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(grants) == 200
    assert most_in_any_window(grants, 1.0) <= 15 + 15
    assert max(grants) >= (200 - 15) / 15 - 1e-6  # the sleeps add up to at least the rate's


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (15, 0)])
def test_a_bucket_that_could_never_grant_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate > 0 and burst >= 1"):
        TokenBucket(rate=rate, burst=burst)


def test_the_gateway_paces_each_region_on_its_own() -> None:
    gateway = KmsGateway(AwsOptions(region="us-west-2"))
    west, east = gateway.put_bucket("us-west-2"), gateway.put_bucket("us-east-1")

    assert west is gateway.put_bucket("us-west-2")  # one budget per Region, shared by threads
    assert west is not east
    assert (west.rate, west.burst) == (PUT_KEY_POLICY_QUOTA, 15)


@pytest.mark.parametrize(("put_rate", "burst"), [(100.0, 100), (2.5, 2), (0.5, 1)])
def test_the_gateway_uses_the_chosen_rate(put_rate: float, burst: int) -> None:
    bucket = KmsGateway(AwsOptions(put_rate=put_rate)).put_bucket("eu-west-1")

    assert (bucket.rate, bucket.burst) == (put_rate, burst)
