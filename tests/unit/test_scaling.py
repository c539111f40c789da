from aerodrome.domain.scaling import Bounds, Load, Memory, decide, needed

BOUNDS = Bounds(min_workers=1, max_workers=3, concurrency=5)


def test_needed_rounds_up_within_bounds():
    assert needed(Load(0, 0), BOUNDS) == 1
    assert needed(Load(3, 2), BOUNDS) == 1
    assert needed(Load(4, 2), BOUNDS) == 2
    assert needed(Load(100, 5), BOUNDS) == 3


def test_scales_out_at_once_to_what_the_load_needs():
    decision = decide(workers=1, load=Load(queued=7, running=5), bounds=BOUNDS, memory=Memory(), now=100.0)
    assert decision.workers == 3
    assert decision.memory.last_change == 100.0
    assert decision.reason == "7 queued, 5 running, 5 per worker"


def test_steady_load_changes_nothing():
    decision = decide(workers=2, load=Load(queued=0, running=8), bounds=BOUNDS, memory=Memory(last_change=5.0),
                      now=100.0)
    assert decision.workers == 2 and decision.memory == Memory(last_change=5.0)


def test_scale_in_waits_for_a_lasting_lull_then_removes_one_worker():
    memory = Memory(last_change=0.0)
    idle = Load(0, 0)
    first = decide(workers=3, load=idle, bounds=BOUNDS, memory=memory, now=100.0, scale_in_after=30)
    assert first.workers == 3 and first.memory.low_since == 100.0
    early = decide(workers=3, load=idle, bounds=BOUNDS, memory=first.memory, now=120.0, scale_in_after=30)
    assert early.workers == 3
    later = decide(workers=3, load=idle, bounds=BOUNDS, memory=early.memory, now=131.0, scale_in_after=30)
    assert later.workers == 2 and later.memory == Memory(last_change=131.0)
    # the next step waits again: one worker at a time
    again = decide(workers=2, load=idle, bounds=BOUNDS, memory=later.memory, now=140.0, scale_in_after=30)
    assert again.workers == 2


def test_a_burst_during_the_lull_resets_it():
    lull = decide(workers=3, load=Load(0, 0), bounds=BOUNDS, memory=Memory(), now=100.0, scale_in_after=30)
    busy = decide(workers=3, load=Load(0, 14), bounds=BOUNDS, memory=lull.memory, now=110.0, scale_in_after=30)
    assert busy.workers == 3 and busy.memory.low_since is None
    after = decide(workers=3, load=Load(0, 0), bounds=BOUNDS, memory=busy.memory, now=135.0, scale_in_after=30)
    assert after.workers == 3  # the lull started again at 135


def test_out_of_bounds_count_is_corrected_at_once():
    assert decide(workers=5, load=Load(0, 0), bounds=BOUNDS, memory=Memory(), now=1.0).workers == 1
    assert decide(workers=0, load=Load(0, 0), bounds=BOUNDS, memory=Memory(), now=1.0).workers == 1
