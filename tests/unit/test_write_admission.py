"""Write admission's budgets and overload rule, with an explicit clock (metrics_server/api/admission.py)."""
import pytest

from metrics_server.api.admission import WriteAdmission, WriteRefused


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_sender_over_its_samples_budget_is_told_when_to_retry_with_503():
    clock = Clock()
    admission = WriteAdmission(max_wait=10, samples_per_second=1000, clock=clock)
    admission.admit("token 'a'", 0)
    admission.charge("token 'a'", 5000)  # one large request passes, and is owed: 2000 left - 5000 = 3000 owed
    with pytest.raises(WriteRefused) as refused:
        admission.admit("token 'a'", 0)
    assert refused.value.status == 503 and refused.value.headers["Retry-After"] == "3"
    assert "token_write_rate_limit: 1000 samples per second" in refused.value.message
    admission.admit("token 'b'", 0)  # another sender's budget is its own
    clock.now = 3.0
    admission.admit("token 'a'", 0)


def test_a_write_that_waited_past_max_write_wait_is_refused_as_overload():
    admission = WriteAdmission(max_wait=2, samples_per_second=0)
    admission.admit("anyone", 1.9)
    with pytest.raises(WriteRefused) as refused:
        admission.admit("anyone", 2.5)
    assert refused.value.headers["Retry-After"] == "1" and "max_write_wait" in refused.value.message


def test_zero_turns_both_limits_off():
    admission = WriteAdmission(max_wait=0, samples_per_second=0)
    admission.charge("anyone", 10**9)
    admission.admit("anyone", 10**6)
