"""The repo's rules files (AGENT.md & co.) and the permission modes."""
