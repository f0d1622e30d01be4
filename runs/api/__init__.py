"""Runs over the JSON API (SPEC §8, §12): create through `create_runs`, read through the Runs
page's filters, work their steps through `runs.services.execution`.

`schemas` holds the bodies, `create` the POST, `read` the GETs, `execute` the step actions and
recorded values; they register their endpoints on the two routers below, which
`ion_runs/api.py` mounts.
"""

from ninja import Router

router = Router(tags=["runs"])
batches_router = Router(tags=["batches"])

# The endpoint modules use the routers above.
from runs.api import create, execute, read  # noqa: E402, F401
