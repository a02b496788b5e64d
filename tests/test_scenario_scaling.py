"""Scenario events survive a change of counts, seed or period: re-targeted, clipped or left
out with a note naming them, never silently and never as an error; bad ids stay bad input."""

from __future__ import annotations

import numpy as np
import pytest

from test_simulate import DEFAULT, changed
from voltpool.errors import ProblemError
from voltpool.scenario import scenario_from_dict
from voltpool.scenario.model import V2VOfferEvent, V2VRequestEvent
from voltpool.simulate import World, build_world, simulate
from voltpool.simulate.events import Offer, Request


def builtin(**changes: object) -> dict:
    """The built-in neighbourhood with ``section__key`` (or a top-level ``key``) set."""
    return changed(DEFAULT, **changes)


def v2v_cars(world: World) -> dict[str, str]:
    """Event id -> the car the world gives it."""
    placed: list[Offer | Request] = [*world.events.offers, *world.events.requests]
    return {e.id: world.vehicle_ids[e.vehicle] for e in placed}


def notes_on(world: World, event_id: str) -> list[str]:
    return [note for note in world.notes if f" {event_id})" in note]


def plugged_in(world: World, car: int, start_slot: int, end_slot: int) -> bool:
    """Whether ``car`` has a plug-in session overlapping ``start_slot <= t < end_slot``."""
    s = world.sessions
    overlaps = (s.vehicle == car) & (s.arrival_slot < end_slot) & (s.departure_slot > start_slot)
    return bool(overlaps.any())


def test_the_builtin_scenario_keeps_its_cars_without_notes() -> None:
    world = build_world(scenario_from_dict(builtin()))
    assert world.notes == ()
    assert v2v_cars(world) == {
        "offer-ana": "car-023",
        "offer-ben": "car-028",
        "request-cas": "car-022",
        "request-dee": "car-004",
        "request-eli": "car-021",
    }
    assert len(world.events.outages[0].homes) == 21


@pytest.mark.parametrize(
    "changes", [{"vehicles__count": 20}, {"vehicles__count": 10}, {"homes__count": 30}]
)
def test_v2v_events_land_on_cars_that_can_do_them_with_a_note(changes: dict) -> None:
    scenario = scenario_from_dict(builtin(**changes))
    world = build_world(scenario)
    for offer in world.events.offers:
        assert world.max_discharge_kw[offer.vehicle] > 0, offer.id
        assert plugged_in(
            world, offer.vehicle, max(offer.posted_slot, offer.start_slot), offer.end_slot
        )
    for request in world.events.requests:
        assert plugged_in(world, request.vehicle, request.posted_slot, request.deadline_slot)
    placed = v2v_cars(world)
    assert len(set(placed.values())) == len(placed)  # a car gives or receives, not both
    changed = 0
    for event in scenario.events_of(V2VOfferEvent) + scenario.events_of(V2VRequestEvent):
        notes = notes_on(world, event.id)
        if event.id not in placed:
            assert len(notes) == 1 and notes[0].endswith("it is left out"), notes
        elif placed[event.id] != event.car:
            assert len(notes) == 1 and f"it goes to {placed[event.id]}" in notes[0], notes
            assert event.car in notes[0]
        else:
            assert notes == []
        changed += bool(notes)
    assert changed >= 1


def test_the_same_seed_re_targets_the_same_way_and_another_seed_may_not() -> None:
    first = build_world(scenario_from_dict(builtin(vehicles__count=20)))
    again = build_world(scenario_from_dict(builtin(vehicles__count=20)))
    assert first.notes == again.notes
    assert v2v_cars(first) == v2v_cars(again)
    other = build_world(scenario_from_dict(builtin(vehicles__count=20, seed=7)))
    assert v2v_cars(other) != v2v_cars(first)


def test_re_targeted_events_are_simulated() -> None:
    document = builtin(vehicles__count=10, start="2024-01-16", days=1, policies=["v2g"])
    scenario = scenario_from_dict(document)
    world = build_world(scenario)
    assert world.notes  # cars re-targeted
    run = simulate(scenario, world=world).runs["v2g"]
    explained = set(run.v2v_unmatched) | set(run.v2v["request_id"] if len(run.v2v) else ())
    assert {r.id for r in world.events.requests} <= explained


def test_car_auto_picks_a_suitable_car_and_says_which() -> None:
    document = builtin()
    document["events"][2]["car"] = "auto"  # offer-ana
    world = build_world(scenario_from_dict(document))
    giver = v2v_cars(world)["offer-ana"]
    (note,) = notes_on(world, "offer-ana")
    assert note.startswith('events[2] (v2v_offer offer-ana): car = "auto"; it goes to ' + giver)
    assert world.max_discharge_kw[world.vehicle_ids.index(giver)] > 0
    assert giver not in {"car-028", "car-022", "car-004", "car-021"}  # the other events' cars


def test_outage_homes_that_no_longer_exist_are_left_out_with_a_note() -> None:
    world = build_world(scenario_from_dict(builtin(homes__count=15)))
    (outage,) = world.events.outages
    np.testing.assert_array_equal(outage.homes, np.arange(9, 15))  # home-010 .. home-015
    (note,) = [n for n in world.notes if n.startswith("events[1] (outage)")]
    assert "15 of its 21 homes (home-016, home-017" in note and "cuts off the other 6" in note

    world = build_world(scenario_from_dict(builtin(homes__count=5)))
    assert world.events.outages == ()
    assert not world.home_islanded.any()
    assert any(n.startswith("events[1] (outage)") and "left out" in n for n in world.notes)


def test_every_event_kind_outside_a_shortened_period_gets_a_note() -> None:
    scenario = scenario_from_dict(builtin(days=1))
    world = build_world(scenario)
    assert world.events.offers == world.events.requests == world.events.outages == ()
    assert world.events.import_limits == ()
    assert (world.import_limit_kw == scenario.transformer.import_limit_kw).all()
    assert len(world.notes) == len(scenario.events)
    for number, (event, note) in enumerate(zip(scenario.events, world.notes, strict=True)):
        assert note.startswith(f"events[{number}] ({event.type}")
        assert (
            "lies wholly outside the simulated period 2024-01-15 00:00 .. 2024-01-16 00:00" in note
        )
        assert note.endswith("it is left out")
    assert "2024-01-17 17:00 .. 2024-01-17 21:00" in world.notes[0]  # the event's own times


def test_events_partly_outside_the_period_are_clipped_with_a_note() -> None:
    congestion = {
        "type": "import_limit",
        "start": "2024-01-17T22:00",
        "end": "2024-01-18T02:00",
        "import_limit_kw": 55.0,
    }
    outage = {
        "type": "outage",
        "start": "2024-01-16T22:00",
        "end": "2024-01-17T01:00",
        "home_share": 0.5,
    }
    document = builtin(start="2024-01-17", days=1, policies=["v2g"])
    document["events"] = [congestion, outage, *document["events"][2:]]
    world = build_world(scenario_from_dict(document))
    first, end = world.first_slot, world.end_slot
    (limit,) = world.events.import_limits
    assert (limit.start_slot, limit.end_slot) == (end - 8, end)
    assert (world.import_limit_kw[end:] == 250.0).all()
    (cut,) = world.events.outages
    assert (cut.start_slot, cut.end_slot) == (first, first + 4)
    for offer in world.events.offers:  # posted the day before: posted when the period starts
        assert offer.posted_slot == offer.start_slot == first
    period = "the simulated period 2024-01-17 00:00 .. 2024-01-18 00:00"
    for number, only in [
        (0, "2024-01-17 22:00 .. 2024-01-18 00:00"),
        (1, "2024-01-17 00:00 .. 2024-01-17 01:00"),
    ]:
        (note,) = [n for n in world.notes if n.startswith(f"events[{number}] (")]
        assert f"lies partly outside {period}: only {only} is simulated" in note
    offer_notes = [n for n in world.notes if "(v2v_offer offer-ana)," in n]
    assert offer_notes == [
        "events[2] (v2v_offer offer-ana), 2024-01-16 12:00 .. 2024-01-17 07:00, lies partly "
        "outside the simulated period 2024-01-17 00:00 .. 2024-01-18 00:00: only "
        "2024-01-17 00:00 .. 2024-01-17 07:00 is simulated"
    ]


@pytest.mark.parametrize(
    ("event", "value", "field"),
    [
        (2, {"car": "car-23"}, "events[2].car"),
        (5, {"car": "truck-004"}, "events[5].car"),
        (3, {"car": "car-0028"}, "events[3].car"),
        (1, {"homes": ["home-010", "home-1x"]}, "events[1].homes[1]"),
    ],
)
def test_a_malformed_id_is_still_bad_input(event: int, value: dict, field: str) -> None:
    document = builtin(vehicles__count=20)
    document["events"][event].update(value)
    with pytest.raises(ProblemError) as caught:
        scenario_from_dict(document)
    (issue,) = caught.value.issues
    assert issue.field == field
    assert "is not a" in issue.rule and "id (" in issue.rule
