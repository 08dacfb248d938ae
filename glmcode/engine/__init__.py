"""The engine: session, agent loop, goal runner and state, compaction, transcript, events, budgets, verify."""
