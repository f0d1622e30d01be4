"""Runs over the JSON API (SPEC §8, §12): create through `create_runs`, read through the Runs
page's filters, work their steps through `runs.services.execution`, add a procedure later
through `runs.services.add_procedure`.

`schemas` holds the bodies, `create` the POST, `read` the GETs, `execute` the step actions and
recorded values, `procedures` the POST that adds a procedure later; they register their
endpoints on the two routers below, which `ion_runs/urls.py` mounts.
"""

from ninja import Router

router = Router(tags=["runs"])
batches_router = Router(tags=["batches"])

# The endpoint modules use the routers above.
from runs.api import create, execute, procedures, read  # noqa: E402, F401
