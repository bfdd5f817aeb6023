"""The benchmark behind `trailkeeper bench`: synthetic history, real servers, measured figures.

`synth` makes catalog-valid events fast, `cases` picks the read requests, `load` (or `wrk`)
drives HTTP from a process of its own, `server` runs the service under test, `runner`
orchestrates one run and `report` prints its figures.
"""


class BenchError(Exception):
    """A benchmark could not be run: a server or the load generator failed."""
