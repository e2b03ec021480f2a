"""The rules of applying a verified UpdateItems request to the Controller's journal, all or
nothing (applied by :meth:`js7tui.controller.journal.ControllerJournal.apply_update`).

Besides the signatures (checked before, in :mod:`js7tui.engine.items`) the request must leave a
consistent state: every Agent a workflow names is one of this Controller's, every job resource
a workflow uses is deployed (now or before), nothing deleted is still in use, and a version id
once deployed keeps its content (:func:`js7tui.engine.items.check_versions`, the rule the
Agent applies too). Then each Agent gets, as pending attachments, exactly the items whose jobs
run there: a workflow goes to the Agents of its jobs, a job resource to the Agents whose jobs
use it. Their links push them.
"""

from __future__ import annotations

from js7tui.engine.shapes import Workflow


def workflow_agents(workflow: Workflow) -> dict[str, list[str]]:
    """{agent: the job resources its jobs use}."""
    needs: dict[str, set[str]] = {}
    for job in workflow.jobs.values():
        needs.setdefault(job.agent, set()).update(job.job_resources)
    return {agent: sorted(resources) for agent, resources in sorted(needs.items())}
