"""The demo intake feed: plays the hotline's intake side over a City, writing contract events and
grid-member heartbeats to the Redis streams (`python app.py simulate`, or a thread of `python app.py`).

- feed.py: DemoFeed, which composes the parts below and writes each event when it falls due.
- cli.py: the `simulate` command line.
- schedule.py: when appeals arrive (hour-of-day and weekday curves, per-minute counts of each local
  day), the city's local time, and the pace of simulated time against the wall clock.
- appeals.py: the appeals of one minute: where, about what, how urgent, by which channel.
- lifecycles.py: what happens to each appeal afterwards, with its timing and odds.
- texts.py: summaries, addresses, reasons and notes (Chinese phrase tables, tricky markup strings).
- heartbeats.py: grid members' shifts, heartbeats and SOS incidents.
- streams.py: pipelined XADDs and the retention trimming that spares what a group has not acknowledged.
- places.py, draws.py, payloads.py: city lookups, seeded random draws, the events' JSON.

Only feed.py, cli.py and streams.py do I/O; the others are pure but stay here, since they serve
the demo feed alone.
"""
