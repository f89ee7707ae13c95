"""One training at a time for the whole class: a finished run is kept for everyone, a second run waits its turn,
and a run that fails says why (ui/networks.train_shared, used by the ResNet, regularisation and transfer pages)."""

from streamlit.testing.v1 import AppTest


def train_app(outcome: str, hold_slot: bool) -> None:
    import streamlit as st

    from cnn_core.train import History, TrainError
    from ui.networks import shared_runs, train_shared, training_slot

    def train(report):
        report(0.5)
        if outcome == "diverged":
            raise TrainError("boom", "diverged", History(), loss=1e9, epoch=2, first=2.3, lr=10.0)
        return {"accuracy": 0.97}

    slot = training_slot()
    if hold_slot:
        slot.acquire()  # another student's run
    try:
        train_shared("test_page", (outcome, hold_slot), train, st.empty(), "training…")
    finally:
        if hold_slot:
            slot.release()
    st.write(repr(shared_runs("test_page").get((outcome, hold_slot))))


def run(outcome: str, hold_slot: bool = False) -> AppTest:
    at = AppTest.from_function(train_app, args=(outcome, hold_slot), default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def test_a_finished_run_is_kept_for_everyone():
    assert "0.97" in run("fine").markdown[-1].value


def test_while_another_run_trains_the_student_is_told_to_wait_and_nothing_is_kept():
    at = run("waits", hold_slot=True)
    assert at.info and "one at a time" in at.info[0].value
    assert at.markdown[-1].value == "None"


def test_a_diverged_run_says_why_and_keeps_nothing():
    at = run("diverged")
    assert at.warning and "lower the learning rate" in at.warning[0].value and at.markdown[-1].value == "None"
