"""Four-eyes approval (issue 22; reference 2.5): a requestor's change becomes a request that
holds exactly what will happen, a second person approves it on that, and the requestor
executes the frozen operation once. No Textual here."""

from js7tui.approval.rules import SentForApproval, divert, executing, required

__all__ = ["SentForApproval", "divert", "executing", "required"]
