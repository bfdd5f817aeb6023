"""The directory: organizations, their workspaces, and the tokens that read or write their logs."""
