"""The engine's answers shaped for people and tools: who is on call as rows, terminal
tables and ICS calendars, and the times people type (``--at``, ``?at=``). Shared by the
CLI, the server and the runbook site."""
