"""I/O of the planner: playbook files, the run-state store, the model endpoint."""
