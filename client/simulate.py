"""`highway-client simulate`: feed plausible observations, as roadside sensors would.

Every tick, each segment's sensor reports a speed: free flow, or slower inside a rush-hour
queue that grows upstream from a bottleneck during the run, plus a little noise.
Observations go through ReportObservations like any operator's feed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import time
from collections.abc import Callable
from typing import TextIO

from client.client import HighwayClient, normalize_highway
from client.models import DirectionTravelTime, Observation

QUEUE_GROWTH = 0.7  # by the end of the run the queue covers 70% of each direction


def add_simulate_arguments(sim: argparse.ArgumentParser) -> None:
    """The `simulate` subcommand's options."""
    sim.add_argument("--highway", required=True, help="highway to feed, e.g. 192")
    sim.add_argument("--minutes", type=float, default=5.0, help="how long to run (default 5)")
    sim.add_argument("--interval", type=float, default=5.0,
                     help="seconds between reports per segment (default 5)")
    sim.add_argument("--ticks", type=int, help="number of reports per segment (overrides "
                     "--minutes)")
    sim.add_argument("--seed", type=int, help="random seed, for a repeatable run")
    sim.add_argument("--quiet", action="store_true", help="no line per tick")


def free_flow_kph(length_km: float, free_flow_minutes: float) -> float:
    """The free-flow speed implied by a segment's length and free-flow time."""
    return length_km / free_flow_minutes * 60.0 if free_flow_minutes > 0 else 0.0


def jam_factor(position: int, segments: int, progress: float) -> float:
    """Speed as a fraction of free flow for segment `position` when the run is `progress`
    (0..1) done: a queue behind a bottleneck at the last segment, whose tail moves upstream
    (towards the first segment) as the run goes on; slowest at the bottleneck."""
    tail = (segments - 1) - progress * QUEUE_GROWTH * segments
    in_queue = 1.0 / (1.0 + math.exp(-(position - tail) / 0.4))  # soft edge at the tail
    depth = 0.55 + 0.3 * position / max(segments - 1, 1)  # 0.55 at the start, 0.85 at the end
    return 1.0 - depth * in_queue


def tick_observations(
    network: list[DirectionTravelTime], progress: float, at: dt.datetime, rng: random.Random
) -> list[Observation]:
    """One report per segment of every direction."""
    result = []
    for tt in network:
        count = len(tt.segments)
        for position, seg in enumerate(tt.segments):
            free = free_flow_kph(seg.length_km, seg.free_flow_minutes)
            speed = free * jam_factor(position, count, progress) * rng.uniform(0.94, 1.06)
            result.append(Observation(f"sim-{seg.segment_id}", seg.segment_id, at,
                                      round(min(max(speed, 0.0), 300.0), 1)))
    return result


def run_simulation(
    client: HighwayClient,
    args: argparse.Namespace,
    out: TextIO,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    """Report observations every `--interval` seconds until done; returns the exit code."""
    highway = normalize_highway(args.highway)
    network = client.travel_times(highway)
    ticks = args.ticks if args.ticks is not None else max(
        1, math.ceil(args.minutes * 60 / max(args.interval, 0.001)))
    rng = random.Random(args.seed)
    accepted = 0
    interrupted = False
    try:
        for tick in range(ticks):
            progress = tick / max(ticks - 1, 1)
            now = clock()
            at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # the store keeps ms
            batch = tick_observations(network, progress, at, rng)
            result = client.report_observations(batch)
            accepted += result.accepted
            if not args.quiet:
                slowest = min(batch, key=lambda o: o.speed_kph)
                out.write(f"{at:%H:%M:%S} tick {tick + 1}/{ticks}: sent {len(batch)}, "
                          f"slowest {slowest.segment_id} at {slowest.speed_kph:.0f} km/h\n")
                out.flush()
            if tick + 1 < ticks:
                sleep(args.interval)
    except KeyboardInterrupt:
        out.write("\n")
        interrupted = True
    out.write(f"simulation {'interrupted' if interrupted else 'done'}: {accepted} observations "
              f"accepted on highway {highway}\n")
    return 130 if interrupted else 0
