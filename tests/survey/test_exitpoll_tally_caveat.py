"""An exit poll compared without the interviewers' tally says so with its finding.

The measured false-alarm rate of the exit-poll comparison holds for polls weighted by the
interviewers' tally of voters approached (tests/survey/test_exitpoll_realdata.py). Without it,
stations with different interviewing intervals count alike, and an honest poll of the bundled
sample (intervals set from each station's turnout, as ``simulate_exitpoll_on`` documents) moves
away from the count: the caveat must travel with the comparison's finding then, and only then.
"""

from __future__ import annotations

from saylau.io import read_protocols, sample_path
from saylau.survey.exitpoll import NO_TALLY, estimate_exitpoll
from saylau.survey.exitpoll_sim import simulate_exitpoll_on
from saylau.survey.official import OfficialResults, compare_exit_poll


def test_the_missing_tally_travels_with_the_finding() -> None:
    table = read_protocols(sample_path())
    sim = simulate_exitpoll_on(table, n_sampled=60, per_station=30, rng=2)
    official = OfficialResults.from_table(table)
    without = estimate_exitpoll(sim.interviews, sim.frame)
    with_tally = estimate_exitpoll(sim.interviews, sim.frame, tally=sim.tally)
    assert without.rules["approached"] == NO_TALLY
    assert with_tally.rules["approached"] == "interviewers' tally"
    bare = compare_exit_poll(without, official)
    tallied = compare_exit_poll(with_tally, official)
    assert bare.finding is not None and tallied.finding is not None
    assert any("no interviewers' tally" in c for c in bare.finding.caveats)
    assert not any("no interviewers' tally" in c for c in tallied.finding.caveats)
