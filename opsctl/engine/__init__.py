"""The engine: schedule layers, the escalation chain, coverage, fairness and the changes
between two orgs. Pure: it takes the model, a holiday source and a clock, and returns
data; it reads no file, no environment and no clock of its own."""
