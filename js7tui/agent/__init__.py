"""The Agent server: verified items and the job executor (subprocesses)."""
